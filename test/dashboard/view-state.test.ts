import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EMPTY_VIEW, formatView, parseView, sameView, type ViewState } from '../../src/dashboard/view-state.ts';

const views: fc.Arbitrary<ViewState> = fc
  .record({ group: fc.string(), logs: fc.option(fc.string({ minLength: 1 }), { nil: undefined }), follow: fc.boolean() })
  .map((v) => ({ ...v, follow: v.logs !== undefined && v.follow }));

describe('the view in the address', () => {
  it('reads back what it wrote, for any group and process name (spaces, &, =, #, non-ASCII)', () => {
    fc.assert(fc.property(views, (view) => assert.deepEqual(parseView(formatView(view)), view)));
  });

  it('writes nothing for the default view, and the default view for an empty address', () => {
    assert.equal(formatView(EMPTY_VIEW), '');
    assert.deepEqual(parseView(''), EMPTY_VIEW);
    assert.deepEqual(parseView('?'), EMPTY_VIEW);
  });

  it('keeps follow only with an open log', () => {
    assert.deepEqual(parseView('?follow=1'), EMPTY_VIEW);
    assert.equal(formatView({ group: '', logs: undefined, follow: true }), '');
    assert.deepEqual(parseView('?logs=web&follow=1'), { group: '', logs: 'web', follow: true });
    assert.deepEqual(parseView('?logs=web&follow=0'), { group: '', logs: 'web', follow: false });
  });

  it('ignores parameters it does not know, and an empty logs', () => {
    assert.deepEqual(parseView('?group=g&utm=x&logs='), { group: 'g', logs: undefined, follow: false });
  });

  it('sameView compares every part', () => {
    fc.assert(fc.property(views, views, (a, b) => assert.equal(sameView(a, b), JSON.stringify(a) === JSON.stringify(b))));
  });
});
