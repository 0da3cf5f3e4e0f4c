// The skip-or-fail rule (needs.ts): a lack skips outside CI, saying how to provide it, and fails in CI.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { type Lack, runOrSkip, skipOrFail, unbuilt } from './needs.ts';

const text = fc.string({ minLength: 1, maxLength: 40 });
const lack = fc.record({ missing: text, toEnable: text });
const lacks = fc.array(fc.option(lack, { nil: undefined }), { maxLength: 5 });

/** The CI variable as the runner set it, restored after each test that changes it. */
let ci: string | undefined;
function setCi(value: string | undefined): void {
  if (value === undefined) delete process.env.CI;
  else process.env.CI = value;
}

describe('skipOrFail', () => {
  beforeEach(() => {
    ci = process.env.CI;
  });
  afterEach(() => setCi(ci));

  it('is false when nothing is lacking, in CI or not', () => {
    fc.assert(
      fc.property(fc.array(fc.constant(undefined), { maxLength: 5 }), fc.constantFrom(undefined, 'true'), (none, env) => {
        setCi(env);
        assert.equal(skipOrFail('some tests', none), false);
      }),
    );
  });

  it('outside CI: a reason naming every lack and how to provide it, in order', () => {
    setCi(undefined);
    fc.assert(
      fc.property(lacks, (given) => {
        const found = given.filter((l): l is Lack => l !== undefined);
        const reason = skipOrFail('some tests', given);
        if (found.length === 0) return assert.equal(reason, false);
        assert.equal(typeof reason, 'string');
        let from = 0;
        for (const l of found) {
          const at = (reason as string).indexOf(`${l.missing}; to run them: ${l.toEnable}`, from);
          assert.ok(at >= from, `${JSON.stringify(l)} in ${JSON.stringify(reason)}`);
          from = at + 1;
        }
      }),
    );
  });

  it('in CI: throws, naming the tests and what is missing', () => {
    fc.assert(
      fc.property(text, lack, fc.constantFrom('true', '1', 'yes'), (tests, l, env) => {
        setCi(env);
        assert.throws(
          () => skipOrFail(tests, [undefined, l]),
          (err: Error) => err.message.startsWith(`the ${tests} must run in CI, but `) && err.message.includes(l.missing),
        );
      }),
    );
  });

  it('an empty CI variable counts as outside CI', () => {
    setCi('');
    assert.equal(skipOrFail('some tests', [{ missing: 'x', toEnable: 'y' }]), 'x; to run them: y');
  });
});

describe('runOrSkip', () => {
  beforeEach(() => {
    ci = process.env.CI;
  });
  afterEach(() => setCi(ci));

  /** A stand-in for the test context: only skip() is used. */
  function context(): { t: TestContext; skipped: string[] } {
    const skipped: string[] = [];
    return { t: { skip: (reason: string) => skipped.push(reason) } as unknown as TestContext, skipped };
  }

  it('runs when nothing is lacking', () => {
    setCi(undefined);
    const { t, skipped } = context();
    assert.equal(runOrSkip(t, 'some tests', [undefined]), true);
    assert.deepEqual(skipped, []);
  });

  it('skips with the reason outside CI, and throws in CI', () => {
    const missing = { missing: 'no widget', toEnable: 'apt-get install widget' };
    setCi(undefined);
    const { t, skipped } = context();
    assert.equal(runOrSkip(t, 'widget tests', [missing]), false);
    assert.deepEqual(skipped, ['no widget; to run them: apt-get install widget']);
    setCi('true');
    assert.throws(() => runOrSkip(t, 'widget tests', [missing]), /the widget tests must run in CI, but no widget/);
    assert.equal(skipped.length, 1);
  });
});

describe('unbuilt', () => {
  const here = new URL(import.meta.url).pathname;

  it('is undefined when every file is there', () => {
    assert.equal(unbuilt(here), undefined);
    assert.equal(unbuilt(), undefined);
  });

  it('names each absent file and says to build', () => {
    const absent = join(here, '..', 'no-such-build-output.js');
    const result = unbuilt(here, absent);
    assert.ok(result);
    assert.match(result.missing, /^dist\/ is not built \(no .*no-such-build-output\.js\)$/);
    assert.doesNotMatch(result.missing, /needs\.test\.ts/);
    assert.equal(result.toEnable, 'npm run build');
  });
});
