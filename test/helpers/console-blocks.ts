/**
 * The ```console blocks of a Markdown file, as commands and the output the doc promises
 * (docs/testing.md, "Executable docs", describes the notation):
 *
 *   ```console                  `$ command` lines, each followed by its output; a command line
 *                               ending in `\` goes on on the next line
 *   ```console background=NAME  one command that keeps running (a second terminal); its lines are
 *                               what it prints until it is ready
 *   ```console stop=NAME        `^C`, then the last lines NAME prints as it stops
 *   ```console no-run           illustrative only: never run (keep these rare)
 *
 * In the output, a line `...` stands for any number of lines.
 */

export interface DocLine {
  /** 1-based line number in the Markdown file. */
  line: number;
  text: string;
}

export interface DocCommand {
  /** Line of the `$ `. */
  line: number;
  /** The command as the shell gets it (continuation lines joined with their newlines). */
  text: string;
  expected: DocLine[];
}

export type BlockMode = { kind: 'run' } | { kind: 'background'; name: string } | { kind: 'stop'; name: string } | { kind: 'no-run' };

export interface ConsoleBlock {
  file: string;
  /** Line of the opening fence. */
  line: number;
  mode: BlockMode;
  commands: DocCommand[];
}

function modeOf(info: string, where: string): BlockMode {
  const words = info.trim().split(/\s+/).slice(1);
  if (words.length === 0) return { kind: 'run' };
  const [word] = words;
  if (words.length === 1 && word === 'no-run') return { kind: 'no-run' };
  const named = /^(background|stop)=([\w-]+)$/.exec(word ?? '');
  if (words.length === 1 && named) return { kind: named[1] as 'background' | 'stop', name: named[2]! };
  throw new Error(`${where}: unknown console block attribute ${JSON.stringify(words.join(' '))} (known: background=NAME, stop=NAME, no-run)`);
}

export function parseConsoleBlocks(file: string, markdown: string): ConsoleBlock[] {
  const lines = markdown.split('\n');
  const blocks: ConsoleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(`{3,})(console\b.*)$/.exec(lines[i]!);
    if (!fence) continue;
    const where = `${file}:${i + 1}`;
    const block: ConsoleBlock = { file, line: i + 1, mode: modeOf(fence[2]!, where), commands: [] };
    let current: DocCommand | undefined;
    for (i++; i < lines.length && lines[i] !== fence[1]; i++) {
      const text = lines[i]!;
      const lineNo = i + 1;
      const startsCommand = text.startsWith('$ ') || (block.mode.kind === 'stop' && block.commands.length === 0 && text === '^C');
      if (startsCommand) {
        let command = text === '^C' ? text : text.slice(2);
        while (command.endsWith('\\') && i + 1 < lines.length && lines[i + 1] !== fence[1]) command += `\n${lines[++i]}`;
        current = { line: lineNo, text: command, expected: [] };
        block.commands.push(current);
      } else if (current) {
        current.expected.push({ line: lineNo, text });
      } else if (block.mode.kind !== 'no-run') {
        throw new Error(`${file}:${lineNo}: a console block starts with "$ command"${block.mode.kind === 'stop' ? ' (or ^C in a stop= block)' : ''}, or is marked no-run`);
      }
    }
    if (i >= lines.length) throw new Error(`${where}: the console block is not closed`);
    // A blank line between two commands is layout, not output.
    for (const command of block.commands) while (command.expected.length > 0 && command.expected.at(-1)!.text === '') command.expected.pop();
    if (block.mode.kind === 'background' && block.commands.length !== 1) throw new Error(`${where}: a background= block holds exactly one command`);
    if (block.mode.kind === 'stop' && (block.commands.length !== 1 || block.commands[0]!.text !== '^C')) throw new Error(`${where}: a stop= block is ^C and the lines printed`);
    blocks.push(block);
  }
  return blocks;
}
