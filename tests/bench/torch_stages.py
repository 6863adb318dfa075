#!/usr/bin/python3
"""PyTorch side of `bench torch`: the three MiVOS networks written with torch.nn
from the checkpoint manifests (spec/checkpoints/*.tsv), timed on the CPU.

Written for this project (not the official code): layer names and shapes are
those the manifests list, so `load_state_dict(strict=True)` of a state dict
built from each .tsv proves that every key and every shape matches (and the
key order of the module is compared with the manifest's row order too).
Weights are the deterministic pseudo-random HASHINIT stream of
spec/HASHINIT.md (the same values `bench networks` loads on the C side), so
both sides run identical arithmetic on identically scaled activations.

Stages, at 854x480 (padded to 864x480), float32, eval mode, torch.no_grad():
  s2m             DeepLabV3+ (ResNet-50, 6 input channels, output stride 16),
                  sigmoid at full size, one object
  propagation_k1  one frame for 1 object: query encode (ResNet-50 to 1/16,
  propagation_k2  key/value projection, the decoder's object-independent skip
                  paths) | top-50 memory read over a 4-frame memory + decoder
                  + sigmoid + soft aggregation | memorize
                  (mask+RGB ResNet-50 encoder + key/value projection, stored
                  into the last memory slot); the same for 2 objects
  fusion          attention of one memory key to the query key + FusionNet
                  (logit), one object

Output: one JSON object per line. The first has "info" (torch version,
threads, manifest checks); then one per stage:
  {"stage": NAME, "seconds": MEDIAN, "gflop": G, "parts": {PART: MEDIAN s},
   "parts_gflop": {PART: G}}   (parts: propagation's encode, read_decode,
                               memorize; parts_gflop only for propagation)
GFLOP are counted from the layers actually run (2 x multiply-adds of every
convolution and matrix product; the memory read as the official dense
product over the scattered top-k affinity).

Needs python3-torch (Debian: apt-get install python3-torch) and numpy.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- manifests


def read_manifest(path):
    """[(key, dtype, shape tuple)] in row order."""
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("key\t"):
                continue
            key, dtype, shape = line.split("\t")[:3]
            dims = tuple(int(d) for d in shape.split(",")) if shape else ()
            rows.append((key, dtype, dims))
    return rows


# HASHINIT (spec/HASHINIT.md): FNV-1a-64 seed per key, splitmix64 per element.
_MASK = (1 << 64) - 1
_LAST_CONV_GAIN = {
    "propagation_model": {"decoder.pred.weight": 0.25},
    "s2m": {"classifier.classifier.3.weight": 8.0},
    "fusion": {"final_conv.weight": 4.0},
}


def _fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & _MASK
    return h


def _uniform_pm1(seed, n):
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64(seed)
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    u = (z >> np.uint64(40)).astype(np.float64) * (2.0 ** -24)
    return 2.0 * u - 1.0


def hashinit_state_dict(network, rows, salt=""):
    out = {}
    gains = _LAST_CONV_GAIN.get(network, {})
    for key, dtype, shape in rows:
        n = int(np.prod(shape)) if shape else 1
        if key.endswith("num_batches_tracked"):
            out[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        if dtype != "float32":
            raise ValueError("%s: unexpected dtype %s" % (key, dtype))
        r = _uniform_pm1(_fnv1a64(salt + key), n)
        if key.endswith("running_mean"):
            v = 0.1 * r
        elif key.endswith("running_var"):
            v = 1.0 + 0.25 * (r + 1.0)
        elif len(shape) >= 2:
            fan_in = n // shape[0]
            v = r * (1.2 * math.sqrt(3.0 / fan_in) * gains.get(key, 1.0))
        elif key.endswith(".weight"):
            v = 1.0 + 0.1 * r
        else:
            v = 0.1 * r
        out[key] = torch.from_numpy(v.astype(np.float32).reshape(shape))
    return out


def load_from_manifest(module, network, manifest_dir):
    """Strict load of a HASHINIT state dict built from the manifest; returns a
    summary of what was checked (raises on any key or shape difference)."""
    rows = read_manifest(os.path.join(manifest_dir, network + ".tsv"))
    state = hashinit_state_dict(network, rows)
    module.load_state_dict(state, strict=True)  # missing/unexpected key or shape -> error
    ours = [(k, tuple(v.shape)) for k, v in module.state_dict().items()]
    theirs = [(k, s) for k, _, s in rows]
    return {
        "entries": len(rows),
        "strict_load": True,
        "same_order": ours == theirs,
        "elements": int(sum(int(np.prod(s)) if s else 1 for _, _, s in rows)),
    }


# ---------------------------------------------------------------- counting

FLOP = [0]
_counting = [False]


def _count(n):
    if _counting[0]:
        FLOP[0] += n


def _conv_hook(conv, inputs, output):
    kh, kw = conv.kernel_size
    _count(2 * output.numel() * (conv.in_channels // conv.groups) * kh * kw)


def count_flop(modules, fn):
    hooks = [m.register_forward_hook(_conv_hook)
             for mod in modules for m in mod.modules() if isinstance(m, nn.Conv2d)]
    FLOP[0] = 0
    _counting[0] = True
    try:
        fn()
    finally:
        _counting[0] = False
        for h in hooks:
            h.remove()
    return FLOP[0] / 1e9


# ---------------------------------------------------------------- ResNet-50 trunk


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride, dilation) -> 1x1 (x4), BN after each, residual."""

    def __init__(self, cin, width, stride=1, dilation=1, bias=False):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=bias)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=dilation,
                               dilation=dilation, bias=bias)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=bias)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=bias), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(y + skip)


def res_stage(cin, width, blocks, stride, bias=False, dilate=False, dilation_in=1):
    """A ResNet stage. dilate: the stride becomes a dilation (the first block
    keeps the incoming dilation, the others use dilation_in * stride)."""
    if dilate:
        first = Bottleneck(cin, width, 1, dilation_in, bias)
        rest_dilation = dilation_in * stride
    else:
        first = Bottleneck(cin, width, stride, dilation_in, bias)
        rest_dilation = dilation_in
    layers = [first] + [Bottleneck(width * 4, width, 1, rest_dilation, bias)
                        for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class Stem(nn.Module):
    def __init__(self, cin, bias):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 64, 7, stride=2, padding=3, bias=bias)
        self.bn1 = nn.BatchNorm2d(64)

    def stem(self, x):
        return F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)


# ---------------------------------------------------------------- S2M


class Backbone(Stem):
    """ResNet-50, 6 input channels, layer4 dilated (output stride 16)."""

    def __init__(self):
        super().__init__(6, bias=False)
        self.layer1 = res_stage(64, 64, 3, 1)
        self.layer2 = res_stage(256, 128, 4, 2)
        self.layer3 = res_stage(512, 256, 6, 2)
        self.layer4 = res_stage(1024, 512, 3, 2, dilate=True)

    def forward(self, x):
        low = self.layer1(self.stem(x))
        return low, self.layer4(self.layer3(self.layer2(low)))


def conv_bn_relu(cin, cout, k, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=dilation * (k // 2), dilation=dilation,
                                   bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class ImagePool(nn.Sequential):
    """Image-level branch: global average, 1x1 conv + BN + ReLU, broadcast back."""

    def __init__(self, cin, cout):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())

    def forward(self, x):
        return F.interpolate(super().forward(x), size=x.shape[-2:], mode="bilinear",
                             align_corners=False)


class ASPP(nn.Module):
    def __init__(self, cin, rates=(6, 12, 18), cout=256):
        super().__init__()
        self.convs = nn.ModuleList([conv_bn_relu(cin, cout, 1)] +
                                   [conv_bn_relu(cin, cout, 3, r) for r in rates] +
                                   [ImagePool(cin, cout)])
        self.project = conv_bn_relu(5 * cout, cout, 1)

    def forward(self, x):
        return self.project(torch.cat([c(x) for c in self.convs], 1))


class DeepLabHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.project = conv_bn_relu(256, 48, 1)
        self.aspp = ASPP(2048)
        self.classifier = nn.Sequential(
            nn.Conv2d(304, 256, 3, padding=1, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
            nn.Conv2d(256, 1, 1))

    def forward(self, low, high):
        low = self.project(low)
        high = F.interpolate(self.aspp(high), size=low.shape[-2:], mode="bilinear",
                             align_corners=False)
        return self.classifier(torch.cat([low, high], 1))


class S2M(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.classifier = DeepLabHead()

    def forward(self, x):
        logit = self.classifier(*self.backbone(x))
        logit = F.interpolate(logit, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(logit)


# ---------------------------------------------------------------- propagation


class QueryEncoder(Stem):
    """ResNet-50 to 1/16: f16 (1024), f8 (512), f4 (256); torchvision-style
    (no conv biases), first stage named res2."""

    def __init__(self):
        super().__init__(3, bias=False)
        self.res2 = res_stage(64, 64, 3, 1)
        self.layer2 = res_stage(256, 128, 4, 2)
        self.layer3 = res_stage(512, 256, 6, 2)

    def forward(self, x):
        f4 = self.res2(self.stem(x))
        f8 = self.layer2(f4)
        return self.layer3(f8), f8, f4


class MemoryEncoder(Stem):
    """ResNet-50 to 1/16 on [RGB, mask, other objects' masks] (5 channels),
    every convolution with a bias (as the manifest lists)."""

    def __init__(self):
        super().__init__(5, bias=True)
        self.layer1 = res_stage(64, 64, 3, 1, bias=True)
        self.layer2 = res_stage(256, 128, 4, 2, bias=True)
        self.layer3 = res_stage(512, 256, 6, 2, bias=True)

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(self.stem(x))))


class KeyValue(nn.Module):
    def __init__(self, cin=1024, key_dim=128, value_dim=512):
        super().__init__()
        self.key_proj = nn.Conv2d(cin, key_dim, 3, padding=1)
        self.val_proj = nn.Conv2d(cin, value_dim, 3, padding=1)

    def forward(self, x):
        return self.key_proj(x), self.val_proj(x)


class ResBlock(nn.Module):
    """x + conv2(relu(conv1(relu(x)))), 3x3 convs; a 3x3 conv on the skip when
    the width changes."""

    def __init__(self, cin, cout):
        super().__init__()
        if cin != cout:
            self.downsample = nn.Conv2d(cin, cout, 3, padding=1)
        else:
            self.downsample = None
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x):
        r = self.conv2(F.relu(self.conv1(F.relu(x))))
        return (x if self.downsample is None else self.downsample(x)) + r


class Upsample(nn.Module):
    def __init__(self, skip_c, up_c, out_c):
        super().__init__()
        self.skip_conv1 = nn.Conv2d(skip_c, up_c, 3, padding=1)
        self.skip_conv2 = ResBlock(up_c, up_c)
        self.out_conv = ResBlock(up_c, out_c)

    def skip(self, features):
        """The skip path: depends on the query frame only, not on the object."""
        return self.skip_conv2(self.skip_conv1(features))

    def forward(self, skip, up):
        x = skip + F.interpolate(up, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out_conv(x)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.compress = ResBlock(1024, 512)
        self.up_16_8 = Upsample(512, 512, 256)
        self.up_8_4 = Upsample(256, 256, 256)
        self.pred = nn.Conv2d(256, 1, 3, padding=1)

    def forward(self, x, skip8, skip4):
        """skip8, skip4: up_16_8.skip(f8), up_8_4.skip(f4) of the query (batch 1,
        broadcast over the objects)."""
        x = self.up_8_4(skip4, self.up_16_8(skip8, self.compress(x)))
        x = self.pred(F.relu(x))
        return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)


def read_top_k(mem_key, mem_value, query_key, top_k):
    """One object: mem_key 1 x CK x T x h x w, mem_value 1 x CV x T x h x w,
    query_key 1 x CK x h x w -> 1 x CV x h x w. Affinity of every memory
    position to every query position; per query position the top_k
    affinities are softmaxed, the rest are zero; readout = values x affinity
    (dense, as the official code does it)."""
    _, ck, t, h, w = mem_key.shape
    cv = mem_value.shape[1]
    m = mem_key.reshape(ck, t * h * w).t()
    q = query_key.reshape(ck, h * w) / math.sqrt(ck)
    affinity = m @ q  # THW x HW
    _count(2 * t * h * w * ck * h * w)
    top, index = affinity.topk(top_k, dim=0)
    weights = torch.softmax(top, dim=0)
    affinity.zero_().scatter_(0, index, weights)
    out = mem_value.reshape(cv, t * h * w) @ affinity
    _count(2 * cv * t * h * w * h * w)
    return out.reshape(1, cv, h, w)


def aggregate_with_background(prob):
    """k x 1 x H x W object probabilities -> (k+1) x 1 x H x W, background
    first: soft aggregation of the odds, background = prod(1 - p)."""
    p = torch.cat([torch.prod(1 - prob, 0, keepdim=True), prob], 0).clamp(1e-7, 1 - 1e-7)
    return torch.softmax(torch.log(p / (1 - p)), 0)


class Propagation(nn.Module):
    def __init__(self, top_k=50):
        super().__init__()
        self.top_k = top_k
        self.mask_rgb_encoder = MemoryEncoder()
        self.rgb_encoder = QueryEncoder()
        self.kv_m_f16 = KeyValue()
        self.kv_q_f16 = KeyValue()
        self.decoder = Decoder()

    def encode_query(self, image):
        """Everything that depends on the query frame only: key and value at
        1/16 and the decoder's skip paths at 1/8 and 1/4 (computed once per
        frame, for any number of objects, as the official decoder does by
        running them at batch 1; done here rather than inside segment() so
        that the parts split the same way as mivos's mv_query)."""
        f16, f8, f4 = self.rgb_encoder(image)
        k16, v16 = self.kv_q_f16(f16)
        return k16, v16, self.decoder.up_16_8.skip(f8), self.decoder.up_8_4.skip(f4)

    def memorize(self, image, masks):
        """masks: k x 1 x H x W -> keys k x 128 x 1 x h x w, values k x 512 x 1 x h x w."""
        k = masks.shape[0]
        others = masks.sum(0, keepdim=True) - masks if k > 1 else torch.zeros_like(masks)
        x = torch.cat([image.expand(k, -1, -1, -1), masks, others], 1)
        key, value = self.kv_m_f16(self.mask_rgb_encoder(x))
        return key.unsqueeze(2), value.unsqueeze(2)

    def segment(self, keys, values, query):
        k16, v16, skip8, skip4 = query
        k = keys.shape[0]
        readout = torch.cat([read_top_k(keys[i:i + 1], values[i:i + 1], k16, self.top_k)
                             for i in range(k)], 0)
        x = torch.cat([readout, v16.expand(k, -1, -1, -1)], 1)
        return torch.sigmoid(self.decoder(x, skip8, skip4))


# ---------------------------------------------------------------- fusion


class FusionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(9, 32, 3, padding=1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(32, 32, 3, padding=1))
        self.conv3 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(32, 32, 3, padding=1))
        self.final_conv = nn.Conv2d(32, 1, 3, padding=1)

    def forward(self, image, prev, curr, attn, dist):
        h, w = image.shape[-2:]
        x = torch.cat([image, prev, curr, attn, dist.view(1, 2, 1, 1).expand(1, 2, h, w)], 1)
        x = self.conv1(x)
        x = F.relu(x + self.conv2(x))
        x = F.relu(x + self.conv3(x))
        return self.final_conv(x)


def fusion_attention(mem_key, query_key, pos, neg):
    """mem_key, query_key 1 x CK x h x w; pos, neg 1 x 1 x H x W -> 1 x 2 x H x W:
    the differences, area-averaged to 1/16, carried to the query frame by the
    softmax (over memory positions) of the key affinity, upsampled back."""
    _, ck, h, w = mem_key.shape
    H, W = pos.shape[-2:]
    a = mem_key.reshape(ck, h * w).t() @ (query_key.reshape(ck, h * w) / math.sqrt(ck))
    _count(2 * h * w * ck * h * w)
    a = torch.softmax(a, 0)
    diff = F.interpolate(torch.cat([pos, neg], 1), size=(h, w), mode="area").reshape(2, h * w)
    attn = (diff @ a).reshape(1, 2, h, w)
    _count(2 * 2 * h * w * h * w)
    return F.interpolate(attn, size=(H, W), mode="bilinear", align_corners=False)


# ---------------------------------------------------------------- golden check


def golden_check(folder, s2m, prop, fusion):
    """Relative L2 error of these modules against the official code's outputs
    in a golden fixture set (shared/fixtures/golden: same HASHINIT weights)."""
    def load(name):
        return torch.from_numpy(np.load(os.path.join(folder, name + ".npy")))

    def rel(ours, ref):
        return float((ours.reshape(ref.shape) - ref).norm() / ref.norm())

    out = {"s2m sigmoid": rel(s2m(load("s2m/inputs_padded")), load("s2m/sigmoid"))}
    k16, v16, _, _ = prop.encode_query(load("prop_encode/image_norm_padded"))
    out["prop_encode query_k16"] = rel(k16, load("prop_encode/query_k16"))
    out["prop_encode query_v16"] = rel(v16, load("prop_encode/query_v16"))
    key, value = prop.memorize(load("prop_encode/image_norm_padded"),
                               load("prop_encode/masks_padded"))
    out["prop_encode mem_key"] = rel(key, load("prop_encode/mem_key"))
    out["prop_encode mem_value"] = rel(value, load("prop_encode/mem_value"))
    query = prop.encode_query(load("prop_segment/query_image_norm_padded"))
    prob = prop.segment(load("prop_segment/mem_key"), load("prop_segment/mem_value"), query)
    out["prop_segment prob"] = rel(prob, load("prop_segment/prob"))
    out["prop_segment prob_aggregated"] = rel(aggregate_with_background(prob),
                                              load("prop_segment/prob_aggregated"))
    attn_ref, logit_ref = load("fusion/attn_map"), load("fusion/fusion_logit")
    for o in range(1, attn_ref.shape[0] + 1):
        attn = fusion_attention(load("fusion/mem_key")[o - 1:o, :, 0], load("fusion/query_key"),
                                load("fusion/pos_mask_diff")[o:o + 1],
                                load("fusion/neg_mask_diff")[o:o + 1])
        out["fusion attn_map obj%d" % o] = rel(attn, attn_ref[o - 1:o])
        logit = fusion(load("fusion/image_norm_padded"), load("fusion/prev_prob")[o:o + 1],
                       load("fusion/curr_prob")[o:o + 1], attn, load("fusion/dist")[0])
        out["fusion logit obj%d" % o] = rel(logit, logit_ref[o - 1:o])
    return out


# ---------------------------------------------------------------- timing


def timed(fn, repeats):
    fn()  # warm-up
    runs = []
    for _ in range(repeats):
        parts = fn()
        runs.append(parts)
    total = statistics.median(sum(p.values()) for p in runs)
    parts = {k: statistics.median(p[k] for p in runs) for k in runs[0]}
    return total, parts


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_manifests = os.path.join(os.environ.get("MIVOS_SHARED") or
                                     os.path.join(here, "..", "..", "..", "shared"),
                                     "spec", "checkpoints")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifests", default=default_manifests,
                    help="folder of s2m.tsv, propagation_model.tsv, fusion.tsv")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per stage (median)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--width", type=int, default=854)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--memory-frames", type=int, default=4)
    ap.add_argument("--stages", default="s2m,propagation_k1,propagation_k2,fusion")
    ap.add_argument("--check", action="store_true",
                    help="only build the networks and check them against the manifests")
    ap.add_argument("--golden", metavar="DIR",
                    help="only compare the networks with a golden fixture set made by the "
                         "official code (e.g. shared/fixtures/golden), then exit")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)

    s2m, prop, fusion = S2M().eval(), Propagation().eval(), FusionNet().eval()
    checks = {}
    for name, module in (("s2m", s2m), ("propagation_model", prop), ("fusion", fusion)):
        checks[name] = load_from_manifest(module, name, args.manifests)
    info = {"info": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                     "weights": "HASHINIT (spec/HASHINIT.md, empty salt)",
                     "manifests": os.path.abspath(args.manifests), "checks": checks}}
    print(json.dumps(info), flush=True)
    if not all(c["strict_load"] and c["same_order"] for c in checks.values()):
        print("torch_stages: a module's state-dict order differs from its manifest",
              file=sys.stderr)
        return 1
    if args.check:
        return 0
    if args.golden:
        errors = golden_check(args.golden, s2m, prop, fusion)
        print(json.dumps({"golden": errors}), flush=True)
        return 0 if max(errors.values()) < 1e-4 else 1

    H = (args.height + 15) // 16 * 16
    W = (args.width + 15) // 16 * 16
    h, w, T = H // 16, W // 16, args.memory_frames
    g = torch.Generator().manual_seed(1)
    image = torch.rand(1, 3, H, W, generator=g) * 4 - 2  # normalised-image range

    stages = args.stages.split(",")
    for stage in stages:
        part_gflop = None
        if stage == "s2m":
            x = torch.cat([image, torch.zeros(1, 3, H, W)], 1)

            def run():
                t0 = time.perf_counter()
                s2m(x)
                return {"forward": time.perf_counter() - t0}
            gflop = count_flop([s2m], run)
        elif stage.startswith("propagation_k"):
            k = int(stage[len("propagation_k"):])
            keys = torch.zeros(k, 128, T, h, w)
            values = torch.zeros(k, 512, T, h, w)

            marks = []

            def run(k=k, keys=keys, values=values):
                marks[:] = [FLOP[0]]
                t0 = time.perf_counter()
                query = prop.encode_query(image)
                t1 = time.perf_counter()
                marks.append(FLOP[0])
                prob = aggregate_with_background(prop.segment(keys, values, query))
                t2 = time.perf_counter()
                marks.append(FLOP[0])
                key, value = prop.memorize(image, prob[1:])
                keys[:, :, T - 1:T] = key
                values[:, :, T - 1:T] = value
                t3 = time.perf_counter()
                marks.append(FLOP[0])
                return {"encode": t1 - t0, "read_decode": t2 - t1, "memorize": t3 - t2}
            gflop = count_flop([prop], run)
            part_gflop = {name: round((marks[i + 1] - marks[i]) / 1e9, 3) for i, name in
                          enumerate(("encode", "read_decode", "memorize"))}
        elif stage == "fusion":
            mem_key = torch.rand(1, 128, h, w, generator=g) - 0.5
            query_key = torch.rand(1, 128, h, w, generator=g) - 0.5
            pos = torch.full((1, 1, H, W), 0.75)
            neg = torch.full((1, 1, H, W), 1.0)
            prev = torch.full((1, 1, H, W), 1.25)
            curr = torch.full((1, 1, H, W), 1.5)
            dist = torch.tensor([0.5, 0.5])

            def run():
                t0 = time.perf_counter()
                attn = fusion_attention(mem_key, query_key, pos, neg)
                fusion(image, prev, curr, attn, dist)
                return {"forward": time.perf_counter() - t0}
            gflop = count_flop([fusion], run)
        else:
            print("torch_stages: unknown stage %s" % stage, file=sys.stderr)
            return 2
        seconds, parts = timed(run, args.repeats)
        line = {"stage": stage, "seconds": seconds, "gflop": round(gflop, 3), "parts": parts}
        if part_gflop:
            line["parts_gflop"] = part_gflop
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
