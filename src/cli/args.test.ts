import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFlags, hostPort, parseCommand, type CommandSpec } from './args.ts';

const spec = {
  name: 'start',
  summary: '',
  usage: '',
  options: { config: { type: 'string', short: 'c' }, quiet: { type: 'boolean' } },
  positional: 'file',
} as const satisfies CommandSpec;

const usage = (what: string) => new RegExp(`^gatehouse start: ${what} \\(see gatehouse start --help\\)$`);

describe('the command-line parser', () => {
  it('takes the config file as -c FILE, --config=FILE or FILE', () => {
    assert.equal(parseCommand(spec, ['-c', 'a.yaml']).file, 'a.yaml');
    assert.equal(parseCommand(spec, ['--config=a.yaml']).file, 'a.yaml');
    assert.equal(parseCommand(spec, ['a.yaml']).file, 'a.yaml');
    assert.equal(parseCommand(spec, []).file, undefined);
  });

  it('refuses with one wording: unknown flags, missing values, values for switches, extra arguments, two files', () => {
    const cases: Array<[string[], string]> = [
      [['--bogus'], 'unknown flag "--bogus"'],
      [['-x'], 'unknown flag "-x"'],
      [['-c'], 'flag -c needs a value'],
      [['-c', '--quiet'], 'flag -c needs a value, got the flag "--quiet"'],
      [['--quiet=yes'], 'flag --quiet takes no value'],
      [['a.yaml', 'b.yaml'], 'unexpected argument "b.yaml"'],
      [['-c', 'a.yaml', 'b.yaml'], 'the config file is given twice \\("a.yaml" and "b.yaml"\\)'],
    ];
    for (const [argv, what] of cases) {
      assert.throws(() => parseCommand(spec, argv), (e: Error & { code?: string }) => e.code === 'GW_ERR_USAGE' && usage(what).test(e.message), argv.join(' '));
    }
  });

  it('reports --help and -h', () => {
    assert.deepEqual(checkFlags(spec, ['--help']), { help: true });
    assert.deepEqual(checkFlags(spec, ['a.yaml', '-h']), { help: true });
    assert.deepEqual(checkFlags(spec, ['a.yaml']), { help: false });
  });
});

describe('listen addresses on the command line', () => {
  it('reads PORT as loopback, :PORT as every interface, HOST:PORT and [V6]:PORT as given', () => {
    assert.deepEqual(hostPort('8383', '--listen'), { host: '127.0.0.1', port: 8383 });
    assert.deepEqual(hostPort(':8383', '--listen'), { host: '0.0.0.0', port: 8383 });
    assert.deepEqual(hostPort('10.0.0.5:80', '--listen'), { host: '10.0.0.5', port: 80 });
    assert.deepEqual(hostPort('[::1]:80', '--listen'), { host: '::1', port: 80 });
    assert.throws(() => hostPort('localhost', '--listen'), /--listen must be PORT, :PORT or HOST:PORT, got "localhost"/);
    assert.throws(() => hostPort('70000', '--listen'), /--listen must be a port number/);
  });
});
