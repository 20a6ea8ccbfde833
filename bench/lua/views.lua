-- views.lua: wrk's requests as many logged-in users make them. Each
-- request carries the next user's cookies: every wrk thread goes round the
-- users of the cookie file in turn, starting at a place of its own so that
-- the threads do not move in step. A share of the requests (the fourth
-- argument, 0 by default) goes to the read-only page, chosen at random;
-- the others go to the counting page, and are counted per user, so that
-- the users' counts can be checked afterwards (bench/cmd/users check).
--
--   wrk -t2 -c32 -d10s -s views.lua URL -- COOKIES THREADS PAGE [READ SHARE]
--
-- COOKIES is what "users login" wrote: a name, a tab and a Cookie header
-- a line. At the end it prints, after wrk's report, "sent USER N" for
-- each user (by line number) that was sent counting views,
-- "unanswered N" (requests sent whose answer wrk did not read when it
-- stopped) and "non2xx N".

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("id", #threads)
end

function init(args)
	local file, nthreads, page, read = args[1], tonumber(args[2]), args[3], args[4]
	share = tonumber(args[5] or "0")
	if not (file and nthreads and page) then
		error("usage: -- COOKIES THREADS PAGE [READ SHARE]")
	end
	-- The requests are made once here, so that each one costs wrk only
	-- a table lookup.
	writes, reads, sent = {}, {}, {}
	for line in io.lines(file) do
		local cookie = line:match("^[^\t]*\t(.*)$") or ""
		local headers = {}
		if cookie ~= "" then
			headers["Cookie"] = cookie
		end
		writes[#writes + 1] = wrk.format("GET", page, headers)
		if read then
			reads[#reads + 1] = wrk.format("GET", read, headers)
		end
		sent[#sent + 1] = 0
	end
	n = #writes
	if n == 0 then
		error(file .. ": no users")
	end
	i = math.floor((id - 1) * n / nthreads)
	issued = 0
	math.randomseed(id)
end

function request()
	i = i % n + 1
	issued = issued + 1
	if share > 0 and math.random() < share then
		return reads[i]
	end
	sent[i] = sent[i] + 1
	return writes[i]
end

function done(summary, latency, requests)
	local total, issuedAll = {}, 0
	for _, t in ipairs(threads) do
		issuedAll = issuedAll + t:get("issued")
		for u, c in ipairs(t:get("sent")) do
			total[u] = (total[u] or 0) + c
		end
	end
	for u, c in ipairs(total) do
		if c > 0 then
			io.write(string.format("sent %d %d\n", u, c))
		end
	end
	io.write(string.format("unanswered %d\n", issuedAll - summary.requests))
	io.write(string.format("non2xx %d\n", summary.errors.status))
end
