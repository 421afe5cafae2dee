import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, from dist/test/helpers/ (compiled) or test/helpers/ (tsx). */
const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../../..') : path.resolve(here, '../..');
export const CLI = path.join(ROOT, 'dist/server/cli.js');
export const EXAMPLES = path.join(ROOT, 'proxy-target-examples');
