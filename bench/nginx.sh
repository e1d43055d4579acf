#!/usr/bin/env bash
# nginx as a third-party static store server for tests and benchmarks.
#
#   bench/nginx.sh start DIR PORT [LATENCY_SECONDS]   starts nginx, prints KEY=value lines
#   bench/nginx.sh stop PREFIX                        stops it and removes PREFIX
#
# `start` writes a config, a small CA and a server certificate into a fresh temp
# dir (the prefix; pid, logs and temp paths live there too) and starts nginx as the
# current user, serving DIR read-only with Range support on 127.0.0.1:
#
#   PORT     HTTP/1.1 (plain)
#   PORT+1   HTTPS, ALPN h2 and http/1.1        (like a CDN)
#   PORT+2   HTTPS, HTTP/1.1 only               (like S3)
#   PORT+3   h2c: HTTP/2 with prior knowledge   (plain)
#   PORT+4   HTTPS h2 (ALPN) sending GOAWAY after every 50 requests on a connection
#   PORT+5   h2c sending GOAWAY after every 50 requests on a connection
#            (servers recycle connections: nginx's default is every 1000 requests;
#            a client must carry the unanswered streams over to a new connection)
#
# LATENCY_SECONDS (default 0) delays every response, via the echo module
# (libnginx-mod-http-echo): `echo_sleep`, then `echo_exec` to a named location that
# serves the file, so Range requests, 404s and HEAD behave as without latency.
#
# It prints, one per line: PREFIX=..., PID=..., CA=... (the PEM to trust: the CA
# that signed the server certificate, CN/SAN 127.0.0.1), CERT=... (the server
# certificate), ACCESS_LOG=... (one line per request: port, protocol, status,
# method, URI, "Range", connection serial, request time, end time), and HTTP_URL,
# HTTPS_H2_URL, HTTPS_H1_URL, H2C_URL, HTTPS_H2_RECYCLE_URL, H2C_RECYCLE_URL.
# Needs: nginx (>= 1.9.5), openssl; the echo module only when LATENCY > 0.
set -euo pipefail

die() {
  echo "nginx.sh: $*" >&2
  exit 1
}

find_nginx() {
  if [ -n "${NGINX:-}" ]; then
    [ -x "$NGINX" ] || die "nginx is not installed at NGINX=$NGINX"
    echo "$NGINX"
  elif command -v nginx >/dev/null 2>&1; then
    command -v nginx
  elif [ -x /usr/sbin/nginx ]; then
    echo /usr/sbin/nginx
  else
    die "nginx is not installed (apt-get install nginx libnginx-mod-http-echo)"
  fi
}

# Prints major*1000000 + minor*1000 + patch of the nginx binary's version.
nginx_version_number() {
  local v
  v=$("$1" -v 2>&1 | sed -n 's|.*nginx/\([0-9][0-9.]*\).*|\1|p')
  [ -n "$v" ] || die "cannot tell the version of $1"
  IFS=. read -r a b c <<<"$v"
  echo $((a * 1000000 + b * 1000 + ${c:-0}))
}

find_echo_module() {
  local m
  for m in "${NGINX_ECHO_MODULE:-}" /usr/lib/nginx/modules/ngx_http_echo_module.so \
    /usr/lib64/nginx/modules/ngx_http_echo_module.so /usr/local/nginx/modules/ngx_http_echo_module.so; do
    if [ -n "$m" ] && [ -f "$m" ]; then
      echo "$m"
      return
    fi
  done
  die "latency needs the nginx echo module (apt-get install libnginx-mod-http-echo)"
}

make_certs() {
  local d=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=zarr-rs test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >/dev/null 2>&1 || die "openssl could not make the CA"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 ||
    die "openssl could not make the server key"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$d/server.ext" -out "$d/server.pem" >/dev/null 2>&1 ||
    die "openssl could not sign the server certificate"
  chmod 600 "$d/ca.key" "$d/server.key"
}

# The locations of one server block: DIR served with Range support, after a delay.
locations() {
  local dir=$1 latency=$2
  if [ "$latency" = 0 ]; then
    cat <<EOF
        location / {
            root $dir;
        }
EOF
  else
    cat <<EOF
        location / {
            echo_sleep $latency;
            echo_exec @file;
        }
        location @file {
            root $dir;
        }
EOF
  fi
}

start() {
  [ $# -ge 2 ] || die "usage: nginx.sh start DIR PORT [LATENCY_SECONDS]"
  local dir port latency nginx version prefix
  dir=$(cd "$1" && pwd) || die "no directory $1"
  port=$2
  latency=${3:-0}
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65530 ] || die "bad port $port"
  [[ "$latency" =~ ^[0-9]*\.?[0-9]+$ ]] || die "bad latency $latency (seconds, e.g. 0.05)"
  if awk "BEGIN { exit !($latency == 0) }"; then latency=0; fi
  command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
  nginx=$(find_nginx)
  version=$(nginx_version_number "$nginx")
  [ "$version" -ge 1009005 ] || die "nginx $("$nginx" -v 2>&1) is too old for HTTP/2"

  prefix=$(mktemp -d "${TMPDIR:-/tmp}/zarr-nginx.XXXXXX")
  mkdir -p "$prefix/logs" "$prefix/tmp"
  make_certs "$prefix"

  # HTTP/2 is a `listen` parameter before 1.25.1 and a per-server directive since.
  local h2_tls h2c h2_tls_recycle h2c_recycle h2_on=""
  if [ "$version" -ge 1025001 ]; then
    h2_tls="listen 127.0.0.1:$((port + 1)) ssl;"
    h2c="listen 127.0.0.1:$((port + 3));"
    h2_tls_recycle="listen 127.0.0.1:$((port + 4)) ssl;"
    h2c_recycle="listen 127.0.0.1:$((port + 5));"
    h2_on="http2 on;"
  else
    h2_tls="listen 127.0.0.1:$((port + 1)) ssl http2;"
    h2c="listen 127.0.0.1:$((port + 3)) http2;"
    h2_tls_recycle="listen 127.0.0.1:$((port + 4)) ssl http2;"
    h2c_recycle="listen 127.0.0.1:$((port + 5)) http2;"
  fi
  # Before 1.19.7 HTTP/2 connections had their own request limit.
  local recycle="keepalive_requests 50;"
  if [ "$version" -lt 1019007 ]; then recycle="http2_max_requests 50;"; fi
  local load="" user=""
  if [ "$latency" != 0 ]; then
    load="load_module $(find_echo_module);"
  fi
  if [ "$(id -u)" = 0 ]; then
    # As root the workers would switch to `nobody`, who cannot read the prefix.
    user="user $(id -un) $(id -gn);"
  fi
  local tls="ssl_certificate $prefix/server.pem;
        ssl_certificate_key $prefix/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:tls:1m;"
  local locs
  locs=$(locations "$dir" "$latency")

  cat >"$prefix/nginx.conf" <<EOF
# Written by bench/nginx.sh: a static store for zarr-rs tests and benchmarks.
$load
$user
worker_processes 1;
daemon on;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;

events {
    worker_connections 4096;
}

http {
    default_type application/octet-stream;
    # One line per request: port, protocol, status, method, URI, Range, connection
    # serial, request time (unbuffered, so tests can read it while nginx runs).
    log_format store '\$server_port \$server_protocol \$status \$request_method \$uri "\$http_range" \$connection \$request_time \$msec';
    access_log $prefix/logs/access.log store;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    http2_max_concurrent_streams 100;
    server_tokens off;
    log_not_found off;
    etag off;

    # HTTP/1.1
    server {
        listen 127.0.0.1:$port;
$locs
    }

    # HTTPS with ALPN h2 (and http/1.1 for clients that do not offer h2)
    server {
        $h2_tls
        $h2_on
        $tls
$locs
    }

    # HTTPS, HTTP/1.1 only (like S3)
    server {
        listen 127.0.0.1:$((port + 2)) ssl;
        $tls
$locs
    }

    # h2c: HTTP/2 over cleartext with prior knowledge
    server {
        $h2c
        $h2_on
$locs
    }

    # HTTPS h2 (ALPN), GOAWAY after 50 requests per connection
    server {
        $h2_tls_recycle
        $h2_on
        $recycle
        $tls
$locs
    }

    # h2c, GOAWAY after 50 requests per connection
    server {
        $h2c_recycle
        $h2_on
        $recycle
$locs
    }
}
EOF

  if ! "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" 2>"$prefix/logs/start.log"; then
    cat "$prefix/logs/start.log" "$prefix/logs/error.log" >&2 2>/dev/null || true
    rm -rf "$prefix"
    die "nginx did not start (ports $port-$((port + 5)) in use?)"
  fi
  local i
  for i in $(seq 1 100); do
    [ -s "$prefix/nginx.pid" ] && break
    sleep 0.05
  done
  [ -s "$prefix/nginx.pid" ] || die "nginx wrote no pid file in $prefix"
  echo "PREFIX=$prefix"
  echo "PID=$(cat "$prefix/nginx.pid")"
  echo "CA=$prefix/ca.pem"
  echo "CERT=$prefix/server.pem"
  echo "ACCESS_LOG=$prefix/logs/access.log"
  echo "HTTP_URL=http://127.0.0.1:$port"
  echo "HTTPS_H2_URL=https://127.0.0.1:$((port + 1))"
  echo "HTTPS_H1_URL=https://127.0.0.1:$((port + 2))"
  echo "H2C_URL=http://127.0.0.1:$((port + 3))"
  echo "HTTPS_H2_RECYCLE_URL=https://127.0.0.1:$((port + 4))"
  echo "H2C_RECYCLE_URL=http://127.0.0.1:$((port + 5))"
}

stop() {
  [ $# -eq 1 ] || die "usage: nginx.sh stop PREFIX"
  local prefix=$1 pid i
  case "$(basename "$prefix")" in zarr-nginx.*) ;; *) die "$prefix is not a prefix made by nginx.sh start" ;; esac
  [ -f "$prefix/nginx.conf" ] || die "$prefix is not a prefix made by nginx.sh start"
  if [ -s "$prefix/nginx.pid" ]; then
    pid=$(cat "$prefix/nginx.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$prefix"
}

case "${1:-}" in
  start)
    shift
    start "$@"
    ;;
  stop)
    shift
    stop "$@"
    ;;
  *) die "usage: nginx.sh start DIR PORT [LATENCY_SECONDS] | nginx.sh stop PREFIX" ;;
esac
