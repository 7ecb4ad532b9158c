#!/usr/bin/python3
"""Real HTTPS peers for the notification tests.

server: an HTTPS listener with the given certificate; each POST is written to
  OUT_DIR/<n>.json as {"path", "headers", "body"} and answered with --status.
proxy: an HTTP CONNECT proxy (no TLS of its own): each tunnel's target is
  appended to --log, then bytes are relayed both ways.
Both write their port to PORT_FILE once listening.
"""
import argparse
import http.server
import json
import os
import socket
import socketserver
import ssl
import threading


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(path + ".tmp", path)


def serve(a):
    counter = {"n": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            with lock:
                counter["n"] += 1
                n = counter["n"]
            path = os.path.join(a.out_dir, "%06d.json" % n)
            with open(path + ".tmp", "w") as f:
                json.dump({"path": self.path, "headers": dict(self.headers.items()),
                           "body": body}, f)
            os.rename(path + ".tmp", path)
            answer = b"ok" if a.status < 300 else b"no thanks"
            self.send_response(a.status)
            self.send_header("Content-Length", str(len(answer)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    write_port(a.port_file, httpd.server_address[1])
    httpd.serve_forever()


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def proxy(a):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline().decode("latin-1").strip()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            parts = line.split()
            if len(parts) != 3 or parts[0] != "CONNECT":
                self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                return
            host, port = parts[1].rsplit(":", 1)
            with open(a.log, "a") as f:
                f.write("CONNECT %s\n" % parts[1])
            try:
                up = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            t = threading.Thread(target=relay, args=(up, self.connection), daemon=True)
            t.start()
            relay(self.connection, up)
            t.join()
            up.close()

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True

    srv = Server(("127.0.0.1", 0), Handler)
    write_port(a.port_file, srv.server_address[1])
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "proxy"])
    p.add_argument("--port-file", required=True)
    p.add_argument("--out-dir")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--log")
    a = p.parse_args()
    serve(a) if a.mode == "server" else proxy(a)


if __name__ == "__main__":
    main()
