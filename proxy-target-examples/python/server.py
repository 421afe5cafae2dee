#!/usr/bin/env python3
"""A jwtgate proxy target in Python: the standard library plus PyJWT (>= 2.6, Debian's python3-jwt).

It trusts the caller identity only after verifying the gateway's RS512 signature.

    PUBLIC_KEY_FILE=gateway.pem PORT=8000 python3 server.py
    (or JWKS_URL=http://127.0.0.1:8080/.well-known/jwks.json to follow key rotation)

Routes (modelled on the Atoti proxy documentation):
    GET  /whoami?mode=jwt      verify the token, answer {"name", "roles"} from its claims
    GET  /whoami?mode=session  call the gateway back as the user (X-Forwarded-Proto/Host) at /api/whoami
    GET  /headers              the request headers this server received (debugging aid)
    POST *                     echo the body, with an X-Custom-Header response header
"""
import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8000"))
ISSUER = os.environ.get("JWT_ISSUER") or None  # optional: check the iss claim
CLOCK_SKEW_SECONDS = 5

if not jwt.algorithms.has_crypto:
    print("RS512 needs the cryptography package: pip install 'PyJWT[crypto]' (Debian: apt-get install python3-cryptography)", file=sys.stderr)
    sys.exit(2)

public_key_pem = None
jwks_client = None
if os.environ.get("PUBLIC_KEY_FILE"):
    try:  # fail now rather than on every request if the file is not an RSA public key
        with open(os.environ["PUBLIC_KEY_FILE"], encoding="utf-8") as f:
            public_key_pem = f.read()
        jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA512).prepare_key(public_key_pem)
    except (OSError, ValueError, jwt.PyJWTError) as err:
        print(f"PUBLIC_KEY_FILE={os.environ['PUBLIC_KEY_FILE']}: not a readable PEM public key ({err})", file=sys.stderr)
        sys.exit(2)
elif os.environ.get("JWKS_URL"):
    # Caches the key set; a token with an unknown kid triggers a refetch.
    jwks_client = jwt.PyJWKClient(os.environ["JWKS_URL"])
else:
    print("set PUBLIC_KEY_FILE (PEM) or JWKS_URL", file=sys.stderr)
    sys.exit(2)

# Calls back to the gateway go direct, never through an HTTP(S)_PROXY from the environment.
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def verify_jwt(token):
    """Returns the verified claims, or raises."""
    key = public_key_pem if public_key_pem is not None else jwks_client.get_signing_key_from_jwt(token).key
    return jwt.decode(
        token,
        key=key,
        algorithms=["RS512"],  # pin the algorithm: never let the token choose it
        issuer=ISSUER,  # None: not checked
        leeway=CLOCK_SKEW_SECONDS,
        options={"require": ["exp"]},
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries a Content-Length

    def log_message(self, format, *args):  # quiet, like the other examples
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after the chunk
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, status, body, content_type="application/json", extra_headers=()):
        payload = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def do_POST(self):
        body = self.read_body()
        content_type = self.headers.get("Content-Type", "application/octet-stream")
        self.send(200, body, content_type, [("X-Custom-Header", "lorem ipsum")])

    def do_GET(self):
        self.read_body()  # a GET may have a body: drain it so the connection stays usable
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/whoami":
                modes = urllib.parse.parse_qs(url.query, keep_blank_values=True).get("mode", [])
                if len(modes) != 1 or modes[0] not in ("jwt", "session"):
                    return self.send(400, {"error": "mode must be jwt or session"})
                return self.whoami(modes[0])
            if url.path == "/headers":
                headers = {}
                for name, value in self.headers.items():
                    name = name.lower()
                    headers[name] = f"{headers[name]}, {value}" if name in headers else value
                return self.send(200, {"headers": headers, "url": self.path})
            self.send(404, {"error": "not found"})
        except Exception:
            self.send(500, {"error": "internal error"})

    def do_other(self):
        self.read_body()
        self.send(404, {"error": "not found"})

    do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_other

    def whoami(self, mode):
        auth_type, _, token = self.headers.get("Authorization", "").partition(" ")
        if auth_type != "Bearer" or not token:
            return self.send(401, {"error": "no bearer token"})
        if mode == "jwt":
            try:
                claims = verify_jwt(token)
            except Exception as err:  # jwt.PyJWTError, or the JWKS could not be fetched
                return self.send(401, {"error": str(err)})
            # Most services would also require ROLE_USER here (403 without it).
            return self.send(200, {"name": claims.get("sub"), "roles": claims.get("authorities")})
        # session mode: the gateway's URL is rebuilt from the headers it added.
        gateway = f"{self.headers.get('X-Forwarded-Proto')}://{self.headers.get('X-Forwarded-Host')}"
        request = urllib.request.Request(f"{gateway}/api/whoami", headers={"Authorization": f"Bearer {token}"})
        try:
            with direct.open(request, timeout=10) as answer:
                user = json.load(answer)
        except urllib.error.HTTPError as err:  # 401, 403, ...
            return self.send(403, {"error": f"the gateway refused the session ({err.code})"})
        except (OSError, ValueError):  # unreachable, or no X-Forwarded-* headers
            return self.send(403, {"error": "the gateway refused the session (unreachable)"})
        return self.send(200, {"name": user["name"], "roles": sorted(user["roles"])})


class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in HOST else socket.AF_INET
    daemon_threads = True  # open keep-alive connections do not delay the exit


def main():
    server = Server((HOST, PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on http://{HOST}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
