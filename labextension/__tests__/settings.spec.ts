import { headlineMetric, mlflowRunUrl, readSettings } from '../settings';

it('reads settings with defaults for missing or invalid values', () => {
  const s = readSettings({ pageSize: 0, rerunEnv: 'recorded', trackingUri: ' sqlite:///a.db ' });
  expect(s.pageSize).toBe(50);
  expect(s.rerunEnv).toBe('recorded');
  expect(s.rerunData).toBe('pinned');
  expect(s.trackingUri).toBe('sqlite:///a.db');
});

it('links a run to the MLflow UI only when an address is set', () => {
  expect(mlflowRunUrl('', '1', 'abc')).toBeNull();
  expect(mlflowRunUrl('http://127.0.0.1:5000/', '3', 'abc')).toBe(
    'http://127.0.0.1:5000/#/experiments/3/runs/abc'
  );
});

it('picks the headline metric by setting, else the first by name', () => {
  expect(headlineMetric({ rmse: 1, acc: 0.9 }, '')).toEqual({ name: 'acc', value: 0.9 });
  expect(headlineMetric({ rmse: 1, acc: 0.9 }, 'rmse')).toEqual({ name: 'rmse', value: 1 });
  expect(headlineMetric({ acc: 0.9 }, 'rmse')).toBeNull();
  expect(headlineMetric({}, '')).toBeNull();
});
