/** docs/configuration.md's table has one row per option of OPTIONS, with its flag, variable and default as the code has them. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { OPTIONS } from '../../server/config.js';
import { ROOT } from '../helpers/paths.js';

it('docs/configuration.md lists every option with the flag, variable and default of OPTIONS, and no other', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
  const rows = doc.split('\n').filter((line) => /^\| (`--|— \(env only\))/.test(line));
  const cells = rows.map((row) => row.split(/(?<!\\)\|/).slice(1, 4).map((c) => c.trim().replace(/\\\|/g, '|')));
  const expected = OPTIONS.map((o) => [o.flag === null ? '— (env only)' : `\`${o.flag}\``, `\`${o.env}\``, `\`${o.defaultText}\``]);
  assert.deepEqual(cells.map((c) => c.join(' ')).sort(), expected.map((c) => c.join(' ')).sort());
});
