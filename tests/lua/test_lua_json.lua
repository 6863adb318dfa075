-- lua/mivos/json.lua (decoding through the library's parser, core/json.c)
-- and the rounds-file reader (lua/mivos/rounds.lua): values, round trips,
-- and error messages with line:column.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local json = require("mivos.json")
local rounds = require("mivos.rounds")

local function decode_error(text)
  local ok, err = pcall(json.decode, text, "x.json")
  t.check(not ok, "decoding " .. text .. " fails")
  return tostring(err)
end

t.case("values", function()
  local v = json.decode('{"a": [1, 2.5, -3e2, true, false, null], "b": {"c": "d\\n\\u00e9\\ud83d\\ude00"}}')
  t.eq(v.a[1], 1, "int")
  t.eq(v.a[2], 2.5, "float")
  t.eq(v.a[3], -300, "exponent")
  t.eq(v.a[4], true, "true")
  t.eq(v.a[5], false, "false")
  t.eq(v.a[6], json.null, "null")
  t.eq(#v.a, 6, "array length")
  t.eq(v.b.c, "d\n\195\169\240\159\152\128", "escapes and surrogate pairs as UTF-8")
  t.check(json.is_array(json.decode("[]")), "an empty array stays an array")
  t.eq(json.encode(json.decode("[]")), "[]", "[] round trip")
  t.eq(json.encode(json.decode("{}")), "{}", "{} round trip")
end)

t.case("round trip", function()
  local doc = { rounds = json.array({ { frame = 0, points = json.array({ { 1.5, 2 }, { 3, 4 } }),
                                        name = 'q"\\\t' } }), n = 0.1, big = 1e300 }
  local text = json.encode(doc, { indent = "  " })
  local back = json.decode(text)
  t.eq(back.rounds[1].points[1][1], 1.5, "nested number")
  t.eq(back.rounds[1].name, 'q"\\\t', "escaped string")
  t.eq(back.n, 0.1, "0.1 survives")
  t.eq(back.big, 1e300, "1e300 survives")
  t.check(text:find("%[1.5, 2%]"), "number arrays stay on one line: " .. text)
  t.eq(json.encode({ b = 1, a = 2 }), '{"a":2,"b":1}', "sorted keys, compact")
end)

t.case("encode refuses what JSON cannot hold", function()
  t.raises(function() json.encode(0 / 0) end, "nan", "NaN")
  t.raises(function() json.encode({ [true] = 1 }) end, "keys must be strings", "boolean key")
  local loop = {}
  loop.self = loop
  t.raises(function() json.encode(loop) end, "contains itself", "cycle")
  t.raises(function() json.encode(print) end, "cannot encode a function", "function")
end)

t.case("errors name line and column", function()
  local e = decode_error('{\n  "a": 1,\n  "b": [1, 2,, 3]\n}')
  t.check(e:find("^x%.json:3:14: "), "position of the second comma: " .. e)
  e = decode_error('{"a": 1 "b": 2}')
  t.check(e:find("x.json:1:9: ',' or '}' in an object", 1, true), e)
  e = decode_error('[1, 2')
  t.check(e:find("1:6:", 1, true) and e:find("end of input", 1, true), e)
  e = decode_error('{"a": tru}')
  t.check(e:find("1:7:", 1, true), e)
  e = decode_error('{"a": "x\ny"}')
  t.check(e:find("control characters", 1, true), e)
  e = decode_error('[01]')
  t.check(e:find("leading zeros", 1, true), e)
  e = decode_error('{"a": 1} x')
  t.check(e:find("1:10: end of input after the value", 1, true), e)
  e = decode_error('')
  t.check(e:find("1:1:", 1, true), e)
end)

t.case("the library's parser: strings, numbers, byte order mark", function()
  local v = json.decode('\239\187\191{"a": "x\\u0000y", "d": 1, "d": 2, "s": "\\ud800\\u0041"}')
  t.eq(v.a, "x\0y", "a \\u0000 escape keeps the bytes after it")
  t.eq(v.d, 2, "a repeated key: the last one wins")
  t.eq(v.s:sub(-1), "A", "the escape after a lone high surrogate is kept")
  t.eq(json.decode("-0.5e+1"), -5, "sign, fraction and exponent")
  for _, bad in ipairs({ "+1", "1.", ".5", "1e", "-", "[1,]", '{"a":1,}', "nul" }) do
    local e = decode_error(bad)
    t.check(e:find("^x%.json:1:%d+: .+, found "), bad .. " -> " .. e)
  end
  t.check(decode_error('"abc'):find("unterminated string (started at 1:1)", 1, true), "unterminated")
  t.check(decode_error('{"a" 1}'):find("':' after the key \"a\", found '1'", 1, true), "colon")
  t.raises(function() json.decode(42) end, "expected a string", "not a string")
end)

local info = { frame_count = 10, width = 100, height = 50 }

local function plan_error(doc_text)
  local ok, err = pcall(function()
    local plan = rounds.parse(json.decode(doc_text, "r.json"), { source = "r.json" })
    return rounds.check(plan, info, { "graphcut", "freehand" })
  end)
  t.check(not ok, "rounds " .. doc_text .. " are refused")
  return tostring(err)
end

t.case("rounds: parse and check", function()
  local doc = json.decode([==[{"objects": 2, "size": [200, 100], "rounds": [
    {"frame": 0, "object": 2, "scribbles": [{"points": [[10, 20], [30, 40]]},
                                            {"points": [0, 0, 8, 8], "positive": false}],
     "propagate": true},
    {"frame": 9, "clicks": [{"x": 100, "y": 50, "positive": false}], "region": [0, 0, 199, 99]},
    {"frame": 3, "polygon": [[0, 0], [20, 0], [20, 20]], "erase": true, "undo": 2}]}]==])
  local plan = rounds.check(rounds.parse(doc, { source = "r.json" }), info, { "graphcut" })
  t.eq(#plan.rounds, 3, "three rounds")
  local r1 = plan.rounds[1]
  t.eq(r1.object, 2, "object")
  t.eq(r1.propagate, true, "propagate")
  t.eq(r1.scribbles[1].points[2][1], 15, "scaled x (size 200x100 -> 100x50)")
  t.eq(r1.scribbles[2].positive, false, "negative stroke")
  t.eq(plan.rounds[2].clicks[1].x, 50, "scaled click")
  t.eq(plan.rounds[2].box[3], 99, "region clamped to the frame")
  t.eq(plan.rounds[3].undo, 2, "undo count")
  t.eq(plan.rounds[3].object, 1, "default object 1")
  t.eq(rounds.describe(plan.rounds[1]), "2 scribbles, propagate", "describe")
end)

t.case("rounds: problems are named", function()
  local e = plan_error('{"rounds": [{"frame": 10, "propagate": true}]}')
  t.check(e:find("round 1: frame 10 is out of range (the video has 10 frames: 0..9)", 1, true), e)
  e = plan_error('{"rounds": [{"frame": 1, "clicks": [{"x": 1, "y": 1}], "interaction": "nope"}]}')
  t.check(e:find('unknown interaction backend "nope"', 1, true), e)
  e = plan_error('{"rounds": [{"frame": 1}]}')
  t.check(e:find("round 1: does nothing", 1, true), e)
  e = plan_error('{"rounds": [{"frame": 1, "propagte": true}]}')
  t.check(e:find('unknown key "propagte"', 1, true), e)
  e = plan_error('{"objects": 1, "rounds": [{"frame": 1, "object": 2, "clicks": [[1, 1]]}]}')
  t.check(e:find("object 2 is out of range", 1, true), e)
  e = plan_error('{"rounds": [{"frame": 1, "clicks": [{"x": 100, "y": 1}]}]}')
  t.check(e:find("outside the 100x50 frame", 1, true), e)
  e = plan_error('{"rounds": [{"frame": 1.5, "propagate": true}]}')
  t.check(e:find('"frame" must be an integer', 1, true), e)
  e = plan_error('{"rounds": [{"frame": 1, "mask": "no/such.png"}]}')
  t.check(e:find('cannot read the mask', 1, true), e)
  e = plan_error('{"rounds": []}')
  t.check(e:find("no rounds", 1, true), e)
end)

t.finish()
