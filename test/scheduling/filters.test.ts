import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capacityFilter } from '../../router/scheduling/filters/capacity.ts';
import { healthyFilter } from '../../router/scheduling/filters/healthy.ts';
import { modelFilter } from '../../router/scheduling/filters/model.ts';
import { ids, pod, request } from './fixtures.ts';

test('model filter keeps the pods serving the requested model, in order', () => {
  const list = [pod('a', { models: ['x', 'm'] }), pod('b', { models: ['x'] }), pod('c', { models: ['m'] })];
  assert.deepEqual(ids(modelFilter.filter(request({ model: 'm' }), list)), ['a', 'c']);
  assert.deepEqual(ids(modelFilter.filter(request({ model: 'y' }), list)), []);
});

test('healthy filter drops unhealthy and draining pods', () => {
  const list = [pod('a'), pod('b', { healthy: false }), pod('c', { draining: true }), pod('d')];
  assert.deepEqual(ids(healthyFilter.filter(request(), list)), ['a', 'd']);
});

test('capacity filter keeps pods strictly below their in-flight cap', () => {
  const list = [
    pod('a', { inflight: 3, maxInflight: 4 }),
    pod('b', { inflight: 4, maxInflight: 4 }),
    pod('c', { inflight: 9, maxInflight: 4 }),
    pod('d', { inflight: 0, maxInflight: 1 }),
  ];
  assert.deepEqual(ids(capacityFilter.filter(request(), list)), ['a', 'd']);
});

test('filters do not mutate their input', () => {
  const list = Object.freeze([pod('a'), pod('b', { healthy: false })]);
  healthyFilter.filter(request(), list);
  assert.equal(list.length, 2);
});
