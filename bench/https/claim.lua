-- wrk script for the "prekey claim" scenario of bench/https/run.
--
-- Every request carries the bearer token of a registered user, as a real client's would.
-- Read from the environment (the runner sets them):
--   BENCH_METHOD  GET (GET /v8/users/{domain}/{uid}/prekeys/{cid}) or POST (list-prekeys)
--   BENCH_TOKEN   access token for the Authorization header
--   BENCH_BODY    request body for POST (JSON), empty for GET
-- The path comes from the URL on wrk's command line. The same script drives nginx, which
-- ignores the header and body and answers with a static copy of a real claim response.
local method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN") or ""
local body = os.getenv("BENCH_BODY") or ""

wrk.method = method
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

-- No request()/response() callbacks on purpose: wrk then builds the request once and sends
-- the same bytes every time, so the client side costs the same against both servers.
