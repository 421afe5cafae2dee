/**
 * deploy/nginx/jwtgate.conf, run by real nginx (Debian nginx-light) as an ordinary user with its
 * own prefix, TLS with a certificate made by openssl, in front of a real gateway.
 */
import fs from 'node:fs';
import path from 'node:path';
import { missingBinary, NGINX_SITE, selfSignedCertificate, template } from '../helpers/deploy-files.js';
import { frontProxySuite, unprivileged } from '../helpers/front-proxy.js';
import { spawnUntil } from '../helpers/process.js';

const NGINX = '/usr/sbin/nginx';

frontProxySuite('nginx', missingBinary(NGINX, 'nginx-light') ?? missingBinary('/usr/bin/openssl', 'openssl'), async ({ https, http, gateway, dir }) => {
  const tls = selfSignedCertificate(dir);
  const site = template(fs.readFileSync(NGINX_SITE, 'utf8'), [
    ['listen 443 ssl;', `listen 127.0.0.1:${https} ssl;`, 1],
    ['listen 80;', `listen 127.0.0.1:${http};`, 1],
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${gateway};`, 1],
    ['/etc/ssl/certs/jwtgate.example.com.pem', tls.cert, 1],
    ['/etc/ssl/private/jwtgate.example.com.key', tls.key, 1],
  ]);
  fs.writeFileSync(path.join(dir, 'jwtgate.conf'), site);
  // What Debian's /etc/nginx/nginx.conf provides around a site, with every path in `dir`.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`).join('\n');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `pid ${dir}/nginx.pid;
error_log stderr notice;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  # As Debian's nginx.conf has it: the site must stream all the same.
  gzip on;
${temp}
  include ${dir}/jwtgate.conf;
}
`);
  const { spawned } = await spawnUntil(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'], /start worker process/, unprivileged(dir));
  return { ca: () => tls.pem, stop: () => spawned.stop() };
});
