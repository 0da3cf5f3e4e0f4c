#!/usr/bin/env bash
# Asks an Engine the questions whose answers the Docker runtime depends on (error texts, status
# codes, duplicate checks, filters, port bindings, log framing) and prints each raw answer, so
# that Engines can be compared side by side (docs/engines.md). Usage:
#   engine-compare.sh [unix:///path/to/docker.sock]     (default: DOCKER_HOST, else the local socket)
# Creates only objects named hpcmp-<pid>-*, and removes them.
set -uo pipefail

HOST=${1:-${DOCKER_HOST:-unix:///var/run/docker.sock}}
SOCK=${HOST#unix://}
IMAGE=${TEST_IMAGE:-hydroplane-test/busybox:latest}
P=hpcmp-$$
V=${ENGINE_COMPARE_API:-v1.41} # a version every Engine here serves, as the runtime's client would pin

# call METHOD PATH [JSON]: prints "METHOD PATH -> STATUS BODY" (body cut to 300 characters).
call() {
  local method=$1 path=$2 body=${3:-} out code
  if [[ -n $body ]]; then
    out=$(curl -s --max-time 30 --unix-socket "$SOCK" -X "$method" -H 'Content-Type: application/json' -d "$body" -w '\n%{http_code}' "http://engine$path")
  else
    out=$(curl -s --max-time 30 --unix-socket "$SOCK" -X "$method" -w '\n%{http_code}' "http://engine$path")
  fi
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  out=$(tr -d '\n' <<<"$out")
  echo "$method $path -> $code ${out:0:300}"
}
id_of() { curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$1/json" | jq -r .Id; }
section() { echo; echo "## $*"; }
cleanup() {
  for c in a a2 a3 b run tty ports portsany rm; do curl -s -o /dev/null --unix-socket "$SOCK" -X DELETE "http://engine/$V/containers/$P-$c?force=1"; done
  curl -s -o /dev/null --unix-socket "$SOCK" -X DELETE "http://engine/$V/networks/$P-net"
}
trap cleanup EXIT

section "version"
call GET /_ping
curl -s --unix-socket "$SOCK" http://engine/version | jq -c '{Version, ApiVersion, MinAPIVersion, Os}'
call GET /v1.45/version
call GET /v1.99/version
call GET /v1.12/version

section "no such image / container"
call GET "/$V/images/hydroplane-test/nope:latest/json"
call POST "/$V/containers/create?name=$P-x" '{"Image":"hydroplane-test/nope:latest"}'
call GET "/$V/containers/$P-nope/json"
call DELETE "/$V/containers/$P-nope?force=1"
call POST "/$V/containers/$P-nope/stop"
call GET "/$V/containers/$P-nope/logs?stdout=1"

section "short image name"
curl -s --unix-socket "$SOCK" "http://engine/$V/images/$IMAGE/json" | jq -c '{Id, RepoTags}'

section "name conflict"
call POST "/$V/containers/create?name=$P-a" "{\"Image\":\"$IMAGE\",\"Cmd\":[\"sleep\",\"60\"],\"Labels\":{\"hpcmp\":\"$P\",\"hpcmp.group\":\"g1\"}}" | sed 's/"Id":"[0-9a-f]*"/"Id":"…"/'
call POST "/$V/containers/create?name=$P-a" "{\"Image\":\"$IMAGE\"}" | sed 's/[0-9a-f]\{64\}/<id>/g'
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-a/json" | jq -c '{Name, RestartPolicy: .HostConfig.RestartPolicy, State: .State.Status}'

section "start/stop/kill states"
call POST "/$V/containers/$P-a/start"
call POST "/$V/containers/$P-a/start"
call POST "/$V/containers/$P-a/stop?t=1"
call POST "/$V/containers/$P-a/stop?t=1"
call POST "/$V/containers/$P-a/kill" | sed 's/[0-9a-f]\{64\}/<id>/g'
call POST "/$V/containers/$P-a/wait?condition=not-running"

section "labels filter"
call POST "/$V/containers/create?name=$P-b" "{\"Image\":\"$IMAGE\",\"Labels\":{\"hpcmp\":\"$P\",\"hpcmp.group\":\"g2\"}}" >/dev/null
for f in "{\"label\":[\"hpcmp=$P\"]}" "{\"label\":[\"hpcmp=$P\",\"hpcmp.group=g1\"]}" '{"label":["hpcmp.group"]}' '{"label":{"hpcmp.group=g2":true}}' "{\"name\":[\"$P-a\"]}" '{"bogus":["x"]}'; do
  enc=$(jq -rn --arg f "$f" '$f|@uri')
  printf 'filters=%s -> ' "$f"
  curl -s --unix-socket "$SOCK" "http://engine/$V/containers/json?all=1&filters=$enc" |
    jq -c 'if type == "array" then [.[].Names[0]] | sort else . end'
done

section "removal in progress (three concurrent DELETE ?force=1 of a running container)"
curl -s -o /dev/null --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
  -d "{\"Image\":\"$IMAGE\",\"Cmd\":[\"sleep\",\"60\"]}" "http://engine/$V/containers/create?name=$P-rm"
curl -s -o /dev/null --unix-socket "$SOCK" -X POST "http://engine/$V/containers/$P-rm/start"
for i in 1 2 3; do call DELETE "/$V/containers/$P-rm?force=1" >"/tmp/$P-rm-$i" & done
wait
sed 's/[0-9a-f]\{64\}/<id>/g' "/tmp/$P-rm-"{1,2,3} | sort
rm -f "/tmp/$P-rm-"{1,2,3}

section "network create with CheckDuplicate, twice; then without"
call POST "/$V/networks/create" "{\"Name\":\"$P-net\",\"CheckDuplicate\":true,\"Labels\":{\"hpcmp\":\"$P\"}}" | sed 's/[0-9a-f]\{64\}/<id>/g'
call POST "/$V/networks/create" "{\"Name\":\"$P-net\",\"CheckDuplicate\":true}" | sed 's/[0-9a-f]\{64\}/<id>/g'
call POST "/$V/networks/create" "{\"Name\":\"$P-net\"}" | sed 's/[0-9a-f]\{64\}/<id>/g'
printf 'networks named %s: ' "$P-net"
curl -s --unix-socket "$SOCK" "http://engine/$V/networks?filters=$(jq -rn --arg f "{\"name\":[\"$P-net\"]}" '$f|@uri')" | jq -c '[.[] | {Name, Labels}]'
for id in $(curl -s --unix-socket "$SOCK" "http://engine/$V/networks?filters=$(jq -rn --arg f "{\"name\":[\"$P-net\"]}" '$f|@uri')" | jq -r '.[].Id'); do
  curl -s -o /dev/null --unix-socket "$SOCK" -X DELETE "http://engine/$V/networks/$id"
done
call DELETE "/$V/networks/$P-net"

section "port bindings (127.0.0.1 with HostPort \"\", and HostIp \"\")"
call POST "/$V/containers/create?name=$P-ports" "{\"Image\":\"$IMAGE\",\"ExposedPorts\":{\"8080/tcp\":{}},\"HostConfig\":{\"PortBindings\":{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]}}}" >/dev/null
call POST "/$V/containers/$P-ports/start"
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-ports/json" | jq -c '{Ports: .NetworkSettings.Ports, PortBindings: .HostConfig.PortBindings}'
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/json?filters=$(jq -rn --arg f "{\"name\":[\"$P-ports\"]}" '$f|@uri')" | jq -c '.[0].Ports'
call POST "/$V/containers/create?name=$P-portsany" "{\"Image\":\"$IMAGE\",\"ExposedPorts\":{\"8080/tcp\":{}},\"HostConfig\":{\"PortBindings\":{\"8080/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]}}}" >/dev/null
call POST "/$V/containers/$P-portsany/start"
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-portsany/json" | jq -c '.NetworkSettings.Ports'

section "logs framing (no TTY: stdout 'out', stderr 'err'), then TTY"
call POST "/$V/containers/create?name=$P-run" "{\"Image\":\"$IMAGE\",\"Cmd\":[\"sh\",\"-c\",\"echo out; echo err >&2\"]}" >/dev/null
call POST "/$V/containers/$P-run/start"
curl -s -o /dev/null --unix-socket "$SOCK" -X POST "http://engine/$V/containers/$P-run/wait"
curl -s -D - -o /dev/null --unix-socket "$SOCK" "http://engine/$V/containers/$P-run/logs?stdout=1&stderr=1" | grep -i -e '^content-type' -e '^HTTP' | tr -d '\r'
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-run/logs?stdout=1&stderr=1" | od -An -c | head -4
curl -s -D - -o /dev/null --unix-socket "$SOCK" "http://engine/v1.45/containers/$P-run/logs?stdout=1&stderr=1" | grep -i -e '^content-type' -e '^HTTP' | tr -d '\r'
call POST "/$V/containers/create?name=$P-tty" "{\"Image\":\"$IMAGE\",\"Tty\":true,\"Cmd\":[\"sh\",\"-c\",\"echo out; echo err >&2\"]}" >/dev/null
call POST "/$V/containers/$P-tty/start"
curl -s -o /dev/null --unix-socket "$SOCK" -X POST "http://engine/$V/containers/$P-tty/wait"
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-tty/logs?stdout=1&stderr=1" | od -An -c | head -2

section "log timestamps"
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-tty/logs?stdout=1&timestamps=1" | head -c 80 | tr -d '\r'; echo

section "a command that is not in the image"
call POST "/$V/containers/create?name=$P-a2" "{\"Image\":\"$IMAGE\",\"Cmd\":[\"/no/such/program\"]}" | sed 's/"Id":"[0-9a-f]*"/"Id":"…"/'
call POST "/$V/containers/$P-a2/start"
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-a2/json" | jq -c '{Status: .State.Status, ExitCode: .State.ExitCode, Error: .State.Error}'
call DELETE "/$V/containers/$P-a2?force=1"

section "a network that does not exist"
call POST "/$V/containers/create?name=$P-a3" "{\"Image\":\"$IMAGE\",\"HostConfig\":{\"NetworkMode\":\"$P-nonet\"}}" | sed 's/"Id":"[0-9a-f]*"/"Id":"…"/'
call POST "/$V/containers/$P-a3/start"
call DELETE "/$V/containers/$P-a3?force=1"
call GET "/$V/networks/$P-nonet"

section "pulls from a registry on 127.0.0.1 that answers 404 MANIFEST_UNKNOWN, 401 UNAUTHORIZED, 403 DENIED"
if command -v node >/dev/null 2>&1; then
  port_file=$(mktemp)
  node -e '
    const http = require("http");
    const answer = (res, status, code, extra = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", "Docker-Distribution-Api-Version": "registry/2.0", ...extra });
      res.end(JSON.stringify({ errors: [{ code, message: code.toLowerCase().replace("_", " "), detail: null }] }));
    };
    const server = http.createServer((req, res) => {
      if (req.url === "/v2/" || req.url === "/v2") { res.writeHead(200, { "Docker-Distribution-Api-Version": "registry/2.0" }); return res.end("{}"); }
      if (req.url.startsWith("/v2/missing/")) return answer(res, 404, "MANIFEST_UNKNOWN");
      if (req.url.startsWith("/v2/private/")) return answer(res, 401, "UNAUTHORIZED", { "WWW-Authenticate": "Basic realm=\"hpcmp\"" });
      if (req.url.startsWith("/v2/denied/")) return answer(res, 403, "DENIED");
      answer(res, 404, "NAME_UNKNOWN");
    });
    server.listen(0, "127.0.0.1", () => require("fs").writeFileSync(process.argv[1], String(server.address().port)));
    setTimeout(() => process.exit(0), 60000);
  ' "$port_file" &
  registry_pid=$!
  for ((i = 0; i < 50; i++)); do [[ -s $port_file ]] && break; sleep 0.1; done
  port=$(cat "$port_file")
  for repo in missing/app private/app denied/app; do
    call POST "/$V/images/create?fromImage=127.0.0.1:$port/$repo&tag=1" | sed "s/127.0.0.1:$port/127.0.0.1:PORT/g"
  done
  kill "$registry_pid" 2>/dev/null
  rm -f "$port_file"
else
  echo "(skipped: no node)"
fi

section "exit code and removed container"
curl -s --unix-socket "$SOCK" "http://engine/$V/containers/$P-run/json" | jq -c '{Status: .State.Status, ExitCode: .State.ExitCode, FinishedAt: .State.FinishedAt}'
call DELETE "/$V/containers/$P-run"
call DELETE "/$V/containers/$P-run"
