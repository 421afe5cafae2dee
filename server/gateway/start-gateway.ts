/** Starting and stopping a whole gateway: store, view, Express app, node:http server. */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './express-app.js';
import { prepareBootstrap } from './bootstrap.js';
import { isLoopbackHost, type Config } from '../config.js';
import { openAuditLog } from '../audit.js';
import { createHttpServer } from './http-server.js';
import { createAssertionSources, logAssertionSettings } from './assertion-sources.js';
import { createIdentityPipelines } from './identity-pipelines.js';
import { forwardedOf, viaName } from '../proxy/index.js';
import type { Logger } from '../log.js';
import { StoreView } from './store-view.js';
import { openStore } from '../store/index.js';

export interface RunningGateway {
  /** `http://host:port` actually listened on. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to drainTimeoutMs), closes the store. */
  close(): Promise<void>;
}

export async function startGateway(config: Config, log: Logger): Promise<RunningGateway> {
  const store = openStore({ dataDir: config.dataDir });
  let listening: { close(): void } | undefined;
  try {
    // Bind first, write the first-start admin and keys after: a start that cannot listen (port
    // busy) leaves the store as it found it, and the next start still does the first-start setup.
    const bootstrap = await prepareBootstrap(store, config, log);
    const audit = openAuditLog(config.auditLogFile);
    const view = new StoreView({ store, config, log, audit });
    let listeningPort = config.port;
    const identities = createIdentityPipelines(config, view, createAssertionSources(config, { store, users: view.users, audit, log }));
    const originOf = (req: IncomingMessage) => {
      const { proto, host } = forwardedOf(req, config.trustProxy, config.publicUrl);
      return `${proto}://${host}`;
    };
    const app = createApp({ config, store, view, identities, log, audit, originOf, self: () => ({ port: listeningPort, host: config.host, names: [] }) });
    const { server, proxy, closeUpgrades } = createHttpServer({ config, view, identities, originOf, app, log, viaName: viaName(await store.deploymentId()) });
    server.headersTimeout = config.headersTimeoutMs;
    // Streaming uploads may legitimately take long: no whole-request deadline, but idle sockets are cut.
    server.requestTimeout = 0;
    server.timeout = config.idleTimeoutMs;
    server.keepAliveTimeout = config.keepAliveTimeoutMs;

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    listening = server;
    // No request is served before the refresh below: with the SQLite store these steps are
    // synchronous underneath (promises only), so the event loop accepts no connection meanwhile.
    // A networked store would let one in, to find the empty initial view (no target: 501).
    await bootstrap.apply();
    if (await view.sessions.ensureSecret()) log.debug('generated the first session secret');
    await view.refresh();
    view.start();
    logAssertionSettings(config, log);
    if (!config.cookieSecure && (!isLoopbackHost(config.host) || config.trustProxy.kind !== 'none')) {
      // Over http the cookie cannot have the __Host- prefix: a sibling subdomain can plant one (docs/sessions.md).
      log.warn('the session cookie is not Secure (--public-url is not https): browsers send it over plain http, and pages on sibling subdomains can set it; serve the gateway over https with an https --public-url');
    }
    if (config.insecure) {
      log.warn(`--insecure: every caller is anonymousUser with ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER${isLoopbackHost(config.host) ? '' : ` and ${config.host} is not a loopback address`}`);
    }
    const { port } = server.address() as AddressInfo;
    listeningPort = port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    log.info(`listening on ${url}`);

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        // Keeps the process alive until the store is closed: what is awaited below may hold only
        // unreferenced handles, and an empty event loop would end the process half-way.
        const alive = setInterval(() => undefined, 60_000);
        view.stop();
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          server.closeAllConnections();
          closeUpgrades();
        }, config.drainTimeoutMs);
        await drained;
        clearTimeout(timer);
        try {
          await proxy.close();
          await store.close();
        } finally {
          clearInterval(alive);
        }
      })());
    return { url, port, close };
  } catch (err) {
    listening?.close();
    await store.close();
    throw err;
  }
}
