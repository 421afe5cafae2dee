/**
 * deploy/Caddyfile, run by real Caddy (Debian caddy) as an ordinary user: the shipped site
 * block as it is, behind test-only global options (free ports, no admin endpoint, certificates
 * from Caddy's own local CA instead of Let's Encrypt), in front of a real gateway.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CADDYFILE, missingBinary, template } from '../helpers/deploy-files.js';
import { frontProxySuite, unprivileged } from '../helpers/front-proxy.js';
import { spawnUntil } from '../helpers/process.js';

const CADDY = '/usr/bin/caddy';

frontProxySuite('Caddy', missingBinary(CADDY, 'caddy'), async ({ https, http, gateway, dir }) => {
  const site = template(fs.readFileSync(CADDYFILE, 'utf8'), [['reverse_proxy 127.0.0.1:8080 {', `reverse_proxy 127.0.0.1:${gateway} {`, 1]]);
  const global = `{
	admin off
	http_port ${http}
	https_port ${https}
	default_bind 127.0.0.1
	local_certs
	skip_install_trust
}

`;
  const config = path.join(dir, 'Caddyfile');
  fs.writeFileSync(config, global + site);
  // Caddy keeps its CA, certificates and autosaved config under these.
  const env = { HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') };
  const { spawned } = await spawnUntil(CADDY, ['run', '--adapter', 'caddyfile', '--config', config], /serving initial configuration/, { env, ...unprivileged(dir) });
  const root = path.join(env.XDG_DATA_HOME, 'caddy/pki/authorities/local/root.crt');
  return {
    // Read when the client connects: Caddy creates its CA at start, the certificate just after.
    ca: () => (fs.existsSync(root) ? fs.readFileSync(root, 'utf8') : ''),
    // Caddy's graceful stop takes seconds here and there is nothing to keep: end it at once.
    stop: () => spawned.stop('SIGKILL'),
  };
});
