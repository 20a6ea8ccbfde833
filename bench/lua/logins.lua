-- logins.lua: a login storm. Each request posts the login form of the
-- next user of the file (the name before the tab on each line; every user
-- has load.sh's password), each wrk thread going round the users from a
-- place of its own.
--
--   wrk -t1 -c8 -d10s -s logins.lua URL -- USERS THREADS LOGIN_PATH

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("id", #threads)
end

function init(args)
	local file, nthreads, path = args[1], tonumber(args[2]), args[3]
	if not (file and nthreads and path) then
		error("usage: -- USERS THREADS LOGIN_PATH")
	end
	posts = {}
	for line in io.lines(file) do
		local name = line:match("^([^\t]+)")
		if name then
			local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
			posts[#posts + 1] = wrk.format("POST", path, headers, "username=" .. name .. "&password=password-bench")
		end
	end
	n = #posts
	if n == 0 then
		error(file .. ": no users")
	end
	i = math.floor((id - 1) * n / nthreads)
end

function request()
	i = i % n + 1
	return posts[i]
end
