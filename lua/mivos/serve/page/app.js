// The mivos annotation page: a client of `mivos serve` (lua/mivos/serve/api.lua).
// Frames come as PNG (/api/frame/N), masks as run-length coded label maps
// (/api/mask/N), changes as server-sent events (/api/events). Every edit is a
// request; the server's session (and its workspace) is the only state, so a
// reload shows the same thing.
'use strict';

const token = new URLSearchParams(location.search).get('token') || '';
const $ = (id) => document.getElementById(id);

// ---- server ----------------------------------------------------------------

async function call(path, body) {
  const options = { headers: { 'X-Mivos-Token': token } };
  if (body !== undefined) {
    options.method = 'POST';
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let value = {};
  try { value = text ? JSON.parse(text) : {}; } catch (e) { value = { error: text }; }
  if (!response.ok) throw new Error(value.error || response.status + ' ' + response.statusText);
  return value;
}

// ---- state -----------------------------------------------------------------

const page = {
  state: null,          // the server's state (GET /api/state, "state" events)
  frame: 0,
  object: 1,
  tool: 'scribble',
  style: 'davis',
  region: null,         // local region [x0, y0, x1, y1] or null
  scale: 1, ox: 0, oy: 0,
  playing: null,
  follow: true,
  job: null,            // {kind, done, total, frame}
  finished: [],         // "finished" events, newest last (read by the browser test)
  changedInRun: new Set(),
};
window.mivosPage = page;

const palette = (() => {
  const p = [];
  for (let i = 0; i < 256; i++) {
    let r = 0, g = 0, b = 0, c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    p.push([r, g, b]);
  }
  return p;
})();
const colour = (id) => `rgb(${palette[id].join(',')})`;

// ---- frames and masks ------------------------------------------------------

const frames = new Map();   // frame -> {pixels (ImageData) | null, promise}
const masks = new Map();    // frame -> {version, labels: Uint8Array}
const pendingMasks = new Map();

// Frames come as raw RGB (the server spends no time encoding them).
function loadFrame(f) {
  let entry = frames.get(f);
  if (entry) return entry.promise;
  entry = { pixels: null };
  const { width, height } = page.state.video;
  entry.promise = fetch(`/api/frame/${f}`, { headers: { 'X-Mivos-Token': token } })
    .then((r) => { if (!r.ok) throw new Error(`frame ${f}: ${r.status}`); return r.arrayBuffer(); })
    .then((buffer) => {
      const rgb = new Uint8Array(buffer);
      const pixels = new ImageData(width, height);
      const d = pixels.data;
      for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
        d[j] = rgb[i]; d[j + 1] = rgb[i + 1]; d[j + 2] = rgb[i + 2]; d[j + 3] = 255;
      }
      entry.pixels = pixels;
      return entry;
    })
    .catch((e) => { frames.delete(f); throw e; });
  frames.set(f, entry);
  if (frames.size > 150) {   // keep memory bounded on long videos
    for (const key of frames.keys()) {
      if (Math.abs(key - page.frame) > 40) { frames.delete(key); break; }
    }
  }
  return entry.promise;
}

function decodeRuns(buffer, size) {
  const bytes = new Uint8Array(buffer);
  const labels = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i + 4 < bytes.length; i += 5) {
    const length = bytes[i + 1] | (bytes[i + 2] << 8) | (bytes[i + 3] << 16) | (bytes[i + 4] << 24);
    labels.fill(bytes[i], o, o + length);
    o += length;
  }
  return labels;
}

function maskVersion(f) { return page.state.versions[f]; }

function loadMask(f) {
  const version = maskVersion(f);
  const have = masks.get(f);
  if (have && have.version === version) return Promise.resolve(have);
  const key = f + ':' + version;
  if (pendingMasks.has(key)) return pendingMasks.get(key);
  const { width, height } = page.state.video;
  const promise = fetch(`/api/mask/${f}?v=${version}`, { headers: { 'X-Mivos-Token': token } })
    .then((r) => { if (!r.ok) throw new Error('mask ' + f + ': ' + r.status); return r.arrayBuffer(); })
    .then((buffer) => {
      const entry = { version, labels: decodeRuns(buffer, width * height) };
      const current = masks.get(f);
      if (!current || current.version <= version) masks.set(f, entry);
      return masks.get(f);
    })
    .finally(() => pendingMasks.delete(key));
  pendingMasks.set(key, promise);
  return promise;
}

// ---- drawing ----------------------------------------------------------------

const view = $('view');
const composite = document.createElement('canvas');
let compositeKey = '';
let dirty = false;         // a redraw is scheduled
let gesture = null;        // the stroke or box being drawn

function requestDraw() {
  if (!dirty) { dirty = true; requestAnimationFrame(draw); }
}

function compose(pixels, labels) {
  const { width, height } = page.state.video;
  const out = new ImageData(new Uint8ClampedArray(pixels.data), width, height);
  const d = out.data;
  const style = page.style;
  if (style === 'none' || !labels) return out;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const k = labels[i];
      const p = i * 4;
      // an edge pixel: a 4-neighbour has another label
      const edge = (x > 0 && labels[i - 1] !== k) || (x < width - 1 && labels[i + 1] !== k) ||
                   (y > 0 && labels[i - width] !== k) || (y < height - 1 && labels[i + width] !== k);
      if (style === 'davis') {
        if (k > 0) {
          const c = palette[k];
          d[p] = (d[p] + c[0]) >> 1; d[p + 1] = (d[p + 1] + c[1]) >> 1; d[p + 2] = (d[p + 2] + c[2]) >> 1;
        } else if (edge) {
          d[p] = d[p + 1] = d[p + 2] = 0;
        }
      } else if (style === 'fade') {
        if (k === 0) { d[p] *= 0.3; d[p + 1] *= 0.3; d[p + 2] *= 0.3; }
      } else if (style === 'outline') {
        if (edge) {
          const c = palette[k > 0 ? k : (x > 0 && labels[i - 1]) || (x < width - 1 && labels[i + 1]) ||
                                        (y > 0 && labels[i - width]) || labels[i + width] || 0];
          d[p] = c[0]; d[p + 1] = c[1]; d[p + 2] = c[2];
        }
      }
    }
  }
  return out;
}

function toImage(clientX, clientY) {
  const r = view.getBoundingClientRect();
  return [(clientX - r.left - page.ox) / page.scale, (clientY - r.top - page.oy) / page.scale];
}

// Client coordinates of an image point (used by the browser test to draw).
page.imageToClient = (x, y) => {
  const r = view.getBoundingClientRect();
  return { x: r.left + page.ox + (x + 0.5) * page.scale, y: r.top + page.oy + (y + 0.5) * page.scale };
};

function fit(box) {
  const { width, height } = page.state.video;
  const [x0, y0, x1, y1] = box || [0, 0, width - 1, height - 1];
  const cw = view.clientWidth, ch = view.clientHeight;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  page.scale = Math.min(cw / bw, ch / bh) * (box ? 0.9 : 1);
  page.ox = (cw - bw * page.scale) / 2 - x0 * page.scale;
  page.oy = (ch - bh * page.scale) / 2 - y0 * page.scale;
  requestDraw();
}

function draw() {
  dirty = false;
  if (!page.state) return;
  const dpr = window.devicePixelRatio || 1;
  const cw = view.clientWidth, ch = view.clientHeight;
  if (view.width !== Math.round(cw * dpr) || view.height !== Math.round(ch * dpr)) {
    view.width = Math.round(cw * dpr); view.height = Math.round(ch * dpr);
  }
  const g = view.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = '#111'; g.fillRect(0, 0, cw, ch);
  const f = page.frame;
  const frame = frames.get(f);
  const mask = masks.get(f);
  if (frame && frame.pixels) {
    const key = `${f}:${mask ? mask.version : -1}:${page.style}`;
    if (key !== compositeKey) {
      const { width, height } = page.state.video;
      composite.width = width; composite.height = height;
      composite.getContext('2d').putImageData(compose(frame.pixels, mask && mask.labels), 0, 0);
      compositeKey = key;
    }
    page.drawnKey = key;  // what the view shows (read by the browser test)
    g.save();
    g.translate(page.ox, page.oy);
    g.scale(page.scale, page.scale);
    g.imageSmoothingEnabled = page.scale < 2;
    g.drawImage(composite, 0, 0);
    g.restore();
  }
  const s = page.scale;
  const P = (x, y) => [page.ox + x * s, page.oy + y * s];
  if (page.region) {
    const [x0, y0, x1, y1] = page.region;
    const [a, b] = P(x0, y0), [c, d] = P(x1 + 1, y1 + 1);
    g.strokeStyle = '#58a6ff'; g.lineWidth = 2; g.setLineDash([6, 4]);
    g.strokeRect(a, b, c - a, d - b); g.setLineDash([]);
  }
  if (gesture && gesture.points.length) {
    const obj = colour(page.object);
    g.lineJoin = g.lineCap = 'round';
    if (gesture.kind === 'rect') {
      const [x0, y0] = gesture.points[0], [x1, y1] = gesture.points[gesture.points.length - 1];
      const [a, b] = P(Math.min(x0, x1), Math.min(y0, y1)), [c, d] = P(Math.max(x0, x1), Math.max(y0, y1));
      g.strokeStyle = page.tool === 'local' ? '#58a6ff' : obj; g.lineWidth = 2; g.setLineDash([6, 4]);
      g.strokeRect(a, b, c - a, d - b); g.setLineDash([]);
    } else {
      const width = page.tool === 'brush' || page.tool === 'erase'
        ? 2 * Number($('brush-radius').value) * s : Math.max(2, Number($('thickness').value) * s);
      g.strokeStyle = gesture.negative || page.tool === 'erase' ? 'rgba(255,255,255,0.9)' : obj;
      g.lineWidth = width;
      g.beginPath();
      gesture.points.forEach(([x, y], i) => { const [a, b] = P(x, y); i ? g.lineTo(a, b) : g.moveTo(a, b); });
      if (page.tool === 'lasso') g.closePath();
      g.stroke();
    }
  }
}

// ---- the frame shown -----------------------------------------------------------

function show(f) {
  const n = page.state.video.frames;
  f = Math.max(0, Math.min(n - 1, f));
  page.frame = f;
  $('timeline').value = f;
  $('frame-label').textContent = `${f} / ${n - 1}`;
  loadFrame(f).then(requestDraw, (e) => setStatus(e.message, true));
  loadMask(f).then(requestDraw, (e) => setStatus(e.message, true));
  for (let d = 1; d <= 3; d++) if (f + d < n) { loadFrame(f + d).catch(() => {}); }
  drawStrip();
  requestDraw();
}

function drawStrip() {
  const strip = $('strip');
  const n = page.state.video.frames;
  strip.width = strip.clientWidth || 600;
  const g = strip.getContext('2d');
  g.clearRect(0, 0, strip.width, strip.height);
  const w = strip.width / n;
  g.fillStyle = '#2ea043';
  for (const f of page.changedInRun) g.fillRect(f * w, 0, Math.max(1, w), strip.height);
  g.fillStyle = '#fff';
  for (const f of page.state.memory) g.fillRect(f * w, 0, Math.max(2, w), strip.height);
  g.fillStyle = '#e8c46a';
  g.fillRect(page.frame * w, 0, Math.max(2, w), strip.height);
}

// ---- objects ---------------------------------------------------------------------

function renderObjects() {
  const list = $('objects');
  list.textContent = '';
  const ids = page.state.objects;
  if (!ids.includes(page.object)) page.object = ids[0];
  ids.forEach((id, i) => {
    const li = document.createElement('li');
    li.className = id === page.object ? 'selected' : '';
    li.dataset.object = id;
    const sw = document.createElement('span');
    sw.className = 'swatch'; sw.style.background = colour(id);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = `object ${id}` + (i < 9 ? `  (${i + 1})` : '');
    const del = document.createElement('button');
    del.textContent = '×'; del.title = `delete object ${id}`;
    del.disabled = ids.length === 1 || busy();
    del.onclick = (e) => {
      e.stopPropagation();
      act(() => call('/api/objects/delete', { object: id }), `object ${id} deleted`);
    };
    li.onclick = () => { page.object = id; renderObjects(); };
    li.append(sw, name, del);
    list.append(li);
  });
}

// ---- status and jobs ----------------------------------------------------------

let statusTimer = null;
function setStatus(text, error) {
  const el = $('status');
  el.textContent = text;
  el.className = error ? 'error' : '';
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { el.textContent = ''; }, error ? 8000 : 4000);
}

function busy() { return !!(page.state && page.state.job); }

function updateButtons() {
  const running = busy();
  for (const el of document.querySelectorAll('aside button')) {
    if (el.id === 'stop') el.disabled = !running;
    else if (!el.closest('#objects')) el.disabled = running;
  }
  $('direction').disabled = running;
  $('tools').querySelectorAll('button').forEach((b) => {
    b.classList.toggle('active', b.dataset.tool === page.tool);
  });
}

async function act(request, done) {
  try {
    const result = await request();
    if (done) setStatus(done);
    return result;
  } catch (e) {
    setStatus(e.message, true);
    return null;
  }
}

function applyState(state) {
  const first = !page.state;
  page.state = state;
  if (first) {
    const v = state.video;
    $('video-info').textContent =
      `${v.name}: ${v.frames} frames, ${v.width}x${v.height}; ${state.modules.interaction} + ` +
      `${state.modules.propagation} + ${state.modules.fusion}`;
    $('timeline').max = v.frames - 1;
    if (state.recovered) setStatus(state.recovered);
    fit();
    show(0);
  }
  page.job = state.job;
  renderObjects();
  updateButtons();
  loadMask(page.frame).then(requestDraw, () => {});
  drawStrip();
}

function onProgress(p) {
  const bar = $('progress');
  bar.max = Math.max(1, p.total); bar.value = p.done;
  const what = p.job === 'export' ? `export ${p.export}` : 'propagating';
  $('progress-text').textContent = p.total ? `${what}: ${p.done} / ${p.total}` : `${what}…`;
  if (page.state) page.state.job = { kind: p.job, done: p.done, total: p.total };
  updateButtons();
  if (p.job === 'propagation' && p.frame >= 0) {
    page.state.versions[p.frame] = p.version;
    page.changedInRun.add(p.frame);
    if (page.follow && !page.playing) show(p.frame);
    else if (p.frame === page.frame) loadMask(p.frame).then(requestDraw, () => {});
    drawStrip();
  }
}

function onFinished(e) {
  page.finished.push(e);
  $('progress-text').textContent = e.error ? `${e.job} failed: ${e.error}` :
    e.job === 'export' ? `export ${e.export}: ${e.result.files} file(s) in ${e.seconds.toFixed(1)} s` :
    `${e.stopped ? 'stopped' : 'propagated'}: ${e.result.frames} frames in ${e.seconds.toFixed(1)} s`;
  if (e.error) setStatus(e.error, true);
  if (e.download) {
    const links = $('export-links');
    let a = links.querySelector(`[data-kind="${e.export}"]`);
    if (!a) { a = document.createElement('a'); a.dataset.kind = e.export; links.append(a); }
    a.href = `${e.download}?token=${encodeURIComponent(token)}`;
    a.textContent = `download ${e.export}`;
    a.setAttribute('download', '');
  }
}

function connectEvents() {
  const source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  source.addEventListener('state', (ev) => applyState(JSON.parse(ev.data)));
  source.addEventListener('progress', (ev) => onProgress(JSON.parse(ev.data)));
  source.addEventListener('finished', (ev) => onFinished(JSON.parse(ev.data)));
  source.onerror = () => setStatus('connection to the server lost; retrying…', true);
  source.onopen = () => call('/api/state').then(applyState, (e) => setStatus(e.message, true));
}

// ---- tools -------------------------------------------------------------------------

function roundFor(extra) {
  const round = Object.assign({ frame: page.frame, object: page.object }, extra);
  if (page.region && (extra.scribbles || extra.clicks)) {
    round.region = page.region;
    round.margin = 8;
  }
  return round;
}

function submit(round, what) {
  return act(() => call('/api/round', round), what);
}

function clampPoint([x, y]) {
  const { width, height } = page.state.video;
  return [Math.max(0, Math.min(width - 1, Math.round(x * 10) / 10)),
          Math.max(0, Math.min(height - 1, Math.round(y * 10) / 10))];
}

function rectOf(points) {
  const xs = points.map((p) => Math.round(p[0])), ys = points.map((p) => Math.round(p[1]));
  const [a, b] = clampPoint([Math.min(...xs), Math.min(...ys)]);
  const [c, d] = clampPoint([Math.max(...xs), Math.max(...ys)]);
  return [Math.round(a), Math.round(b), Math.round(c), Math.round(d)];
}

function finishGesture(g) {
  const pts = g.points.map(clampPoint);
  const tool = page.tool;
  if (tool === 'scribble') {
    submit(roundFor({ scribbles: [{ points: pts, positive: !g.negative,
                                     thickness: Number($('thickness').value) }] }),
           g.negative ? 'background scribble' : 'scribble');
  } else if (tool === 'click') {
    const [x, y] = g.points[g.points.length - 1];
    const { width, height } = page.state.video;
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    submit(roundFor({ clicks: [{ x: Math.floor(x), y: Math.floor(y), positive: !g.negative }] }), 'click');
  } else if (tool === 'lasso') {
    if (pts.length < 3) return;
    submit(roundFor({ polygon: pts, erase: g.negative }), g.negative ? 'lasso removed' : 'lasso');
  } else if (tool === 'brush' || tool === 'erase') {
    submit(roundFor({ polygon: pts, brush: Number($('brush-radius').value), erase: tool === 'erase' || g.negative }),
           tool);
  } else if (tool === 'box') {
    const box = rectOf(g.points);
    if (box[2] - box[0] < 2 || box[3] - box[1] < 2) return;
    act(() => call('/api/box', { frame: page.frame, object: page.object, box }), 'box');
  } else if (tool === 'local') {
    const box = rectOf(g.points);
    if (box[2] - box[0] < 8 || box[3] - box[1] < 8) return;
    enterLocal(box);
  }
}

function enterLocal(box) {
  page.region = box;
  $('local-banner').hidden = false;
  page.tool = 'scribble';
  updateButtons();
  fit(box);
}

function leaveLocal() {
  page.region = null;
  $('local-banner').hidden = true;
  fit();
}

function setTool(tool) {
  page.tool = tool;
  updateButtons();
}

view.addEventListener('contextmenu', (e) => e.preventDefault());
view.addEventListener('pointerdown', (e) => {
  if (!page.state) return;
  view.focus();
  view.setPointerCapture(e.pointerId);
  if (e.button === 1 || e.altKey) {
    gesture = { kind: 'pan', x: e.clientX, y: e.clientY, points: [] };
    return;
  }
  if (busy()) { setStatus('wait for the running job (or stop it)', true); return; }
  const rect = page.tool === 'box' || page.tool === 'local';
  gesture = { kind: rect ? 'rect' : 'line', negative: e.button === 2 || e.shiftKey,
              points: [toImage(e.clientX, e.clientY)] };
  requestDraw();
});
view.addEventListener('pointermove', (e) => {
  if (!gesture) return;
  if (gesture.kind === 'pan') {
    page.ox += e.clientX - gesture.x; page.oy += e.clientY - gesture.y;
    gesture.x = e.clientX; gesture.y = e.clientY;
  } else {
    gesture.points.push(toImage(e.clientX, e.clientY));
  }
  requestDraw();
});
view.addEventListener('pointerup', (e) => {
  const g = gesture;
  gesture = null;
  if (g && g.kind !== 'pan') {
    g.points.push(toImage(e.clientX, e.clientY));
    finishGesture(g);
  }
  requestDraw();
});
view.addEventListener('wheel', (e) => {
  e.preventDefault();
  const r = view.getBoundingClientRect();
  const mx = e.clientX - r.left, my = e.clientY - r.top;
  const factor = Math.pow(1.15, -e.deltaY / 100);
  const scale = Math.max(0.05, Math.min(40, page.scale * factor));
  page.ox = mx - (mx - page.ox) * scale / page.scale;
  page.oy = my - (my - page.oy) * scale / page.scale;
  page.scale = scale;
  requestDraw();
}, { passive: false });
window.addEventListener('resize', () => { if (page.state) fit(page.region); });

// ---- buttons ------------------------------------------------------------------------

$('tools').addEventListener('click', (e) => { if (e.target.dataset.tool) setTool(e.target.dataset.tool); });
$('local-exit').onclick = leaveLocal;
$('object-add').onclick = () => act(async () => {
  const r = await call('/api/objects/add', {});
  page.object = r.object;
  return r;
}, 'object added');
function undo() { return submit({ frame: page.frame, undo: 1 }, 'undone'); }
$('undo').onclick = undo;
$('reset-frame').onclick = () => submit({ frame: page.frame, reset: true }, `frame ${page.frame} reset`);
$('reset-object').onclick = () => act(() => call('/api/objects/reset', { object: page.object }),
                                      `object ${page.object} reset`);
function propagate() {
  page.changedInRun = new Set();
  return act(() => call('/api/propagate', { frame: page.frame, direction: $('direction').value }),
             'propagating…');
}
$('propagate').onclick = propagate;
function stop() { return act(() => call('/api/stop', {}), 'stopping…'); }
$('stop').onclick = stop;
$('overlay-style').onchange = (e) => { page.style = e.target.value; requestDraw(); };
document.querySelectorAll('[data-export]').forEach((b) => {
  b.onclick = () => act(() => call('/api/export', { kind: b.dataset.export }), `writing ${b.dataset.export}…`);
});
$('timeline').addEventListener('input', (e) => show(Number(e.target.value)));
$('follow').onchange = (e) => { page.follow = e.target.checked; };

function play() {
  if (page.playing) { clearInterval(page.playing); page.playing = null; $('play').textContent = '▶'; return; }
  const fps = page.state.video.fps || 25;
  $('play').textContent = '❚❚';
  page.playing = setInterval(() => {
    if (page.frame >= page.state.video.frames - 1) { play(); return; }
    show(page.frame + 1);
  }, 1000 / fps);
}
$('play').onclick = play;

document.addEventListener('keydown', (e) => {
  if (!page.state || e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT') return;
  const key = e.key;
  if ((e.ctrlKey || e.metaKey) && key.toLowerCase() === 'z') { undo(); e.preventDefault(); return; }
  if (e.ctrlKey || e.metaKey) return;
  const tools = { s: 'scribble', c: 'click', b: 'box', l: 'lasso', r: 'brush', e: 'erase', z: 'local' };
  if (/^[1-9]$/.test(key)) {
    const id = page.state.objects[Number(key) - 1];
    if (id !== undefined) { page.object = id; renderObjects(); }
  } else if (key === 'ArrowLeft' || key === 'ArrowRight') {
    show(page.frame + (key === 'ArrowLeft' ? -1 : 1) * (e.shiftKey ? 10 : 1));
  } else if (key === 'Home' || key === 'End') {
    show(key === 'Home' ? 0 : page.state.video.frames - 1);
  } else if (key === ' ') {
    play();
  } else if (tools[key.toLowerCase()]) {
    setTool(tools[key.toLowerCase()]);
  } else if (key.toLowerCase() === 'p') {
    if (!busy()) propagate();
  } else if (key === 'Escape') {
    if (busy()) stop(); else if (page.region) leaveLocal();
  } else if (key.toLowerCase() === 'o') {
    const sel = $('overlay-style');
    sel.selectedIndex = (sel.selectedIndex + 1) % sel.options.length;
    page.style = sel.value; requestDraw();
  } else if (key.toLowerCase() === 'f') {
    fit(page.region);
  } else {
    return;
  }
  e.preventDefault();
});

// ---- start ------------------------------------------------------------------------

if (!token) {
  setStatus('no token in the URL: open the URL that mivos serve printed', true);
} else {
  call('/api/state').then(applyState, (e) => setStatus(e.message, true));
  connectEvents();
}
