/** `jwtgate proxy get|set|disable`. */
import type { Config } from '../config.js';
import { parseTargetUrl } from '../proxy/index.js';
import { auditCli, printJson, withStore } from './common.js';

export async function getProxyCommand(config: Pick<Config, 'dataDir'>, json: boolean): Promise<void> {
  const url = await withStore(config, (store) => store.getProxyUrl());
  if (json) return printJson({ url });
  process.stdout.write(`${url ?? '(disabled)'}\n`);
}

export async function setProxyCommand(config: Pick<Config, 'dataDir' | 'auditLogFile'>, rawUrl: string | null): Promise<void> {
  const url = rawUrl === null ? null : parseTargetUrl(rawUrl).href;
  await withStore(config, (store) => store.setProxyUrl(url));
  auditCli(config, { action: url === null ? 'proxy.disable' : 'proxy.set', target: url });
  process.stdout.write(url === null ? 'proxy disabled\n' : `proxy target set to ${url}\n`);
}
