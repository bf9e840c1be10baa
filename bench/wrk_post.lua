-- Posts each rendered form of $BENCH_FORMS once (path, tab, cookie, tab, body a line),
-- then stops; the summary is written as by wrk_report.lua.
local forms = {}
local next_form = 1

init = function(args)
  for line in io.lines(os.getenv("BENCH_FORMS")) do
    local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    forms[#forms + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = cookie,
    }, body)
  end
end

request = function()
  if next_form > #forms then
    wrk.thread:stop()
    return forms[#forms]
  end
  local req = forms[next_form]
  next_form = next_form + 1
  return req
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
