-- SPDX-License-Identifier: ISC
-- wrk script of bench/http.pl, the same for every row and every system
-- (after the baselines' c-floor/report.lua):
--   BENCH_PATHS  optional file with one request path a line; each request
--                picks one at random, so a status row reads many rows of
--                the table, not one cached row.  Without it wrk sends its
--                URL's path and runs no Lua per request.
-- Headers (the bearer token) come from wrk's -H.  At the end it prints
-- one line for bench/http.pl:
--   BENCHRESULT requests=N duration_us=N p50_ms=F p99_ms=F max_ms=F
--     connect=N read=N write=N timeout=N status=N
-- where status is wrk's count of answers with a status of 400 or more.
local pathfile = os.getenv("BENCH_PATHS")
local threads = 0

function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end

if pathfile and pathfile ~= "" then
	local reqs, n = {}, 0
	-- Built in init(): wrk adds the Host header only after the script's
	-- top level has run.
	function init(args)
		for line in io.lines(pathfile) do
			if line ~= "" then
				reqs[#reqs + 1] = wrk.format("GET", line)
			end
		end
		n = #reqs
		math.randomseed(os.time() * 100 + (tid or 0))
	end
	function request()
		return reqs[math.random(n)]
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCHRESULT requests=%d duration_us=%d "
	    .. "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f connect=%d read=%d "
	    .. "write=%d timeout=%d status=%d\n",
	    summary.requests, summary.duration,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency.max / 1000, e.connect, e.read, e.write, e.timeout,
	    e.status))
end
