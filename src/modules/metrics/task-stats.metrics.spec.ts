import { Logger } from '@nestjs/common';
import { TasksRepository } from '../tasks/tasks.repository';
import { TASK_STATES, TaskStatsRow } from '../tasks/tasks.types';
import { MetricsRegistry } from './metrics.registry';
import { EXACT_COUNT_LIMIT, stateCount, TaskStatsMetrics, taskStats } from './task-stats.metrics';

const ROW: TaskStatsRow = {
  pending: 12,
  running: 3,
  failed: 0,
  pending_estimate: 0,
  running_estimate: null,
  failed_estimate: 5,
  oldest_due_age_seconds: 1.5,
  paused_categories: 2,
  open_circuits: 1,
  half_open_circuits: 0,
  rate_limited_categories: 1,
  held_paused: 7,
  held_circuit: 0,
  held_rate_limit: 40,
};

describe('stateCount', () => {
  it('is the exact count below the limit, whatever the estimate says', () => {
    expect(stateCount(9_999, 2_000_000, 10_000)).toBe(9_999);
    expect(stateCount(0, 42, 10_000)).toBe(0);
  });

  it("is the table statistics' estimate at the limit when it is larger", () => {
    expect(stateCount(10_000, 1_000_508, 10_000)).toBe(1_000_508);
  });

  it('is at least the limit when the estimate is stale, missing or unknown (-1)', () => {
    expect(stateCount(10_000, 3_000, 10_000)).toBe(10_000);
    expect(stateCount(10_000, null, 10_000)).toBe(10_000);
    expect(stateCount(10_000, -1, 10_000)).toBe(10_000);
  });
});

describe('taskStats', () => {
  it('maps a TASK_STATS row to counts by state and the oldest due age', () => {
    expect(taskStats(ROW, EXACT_COUNT_LIMIT)).toStrictEqual({
      counts: { pending: 12, running: 3, failed: 0 },
      oldestDueAgeSeconds: 1.5,
      pausedCategories: 2,
      circuits: { open: 1, half_open: 0 },
      rateLimitedCategories: 1,
      held: { paused: 7, circuit: 0, rate_limit: 40 },
    });
  });
});

describe('TaskStatsMetrics', () => {
  let registry: MetricsRegistry;
  let stats: jest.Mock<Promise<TaskStatsRow>, [number]>;

  beforeEach(() => {
    registry = new MetricsRegistry();
    stats = jest.fn<Promise<TaskStatsRow>, [number]>();
    new TaskStatsMetrics(registry, { stats } as unknown as TasksRepository);
  });

  afterEach(() => {
    registry.clear();
  });

  function lines(text: string, name: string): string[] {
    return text.split('\n').filter((line) => line.startsWith(name));
  }

  it('reads the database once per scrape for both gauges, counting up to the limit', async () => {
    stats.mockResolvedValue(ROW);
    const text = await registry.metrics();
    expect(stats).toHaveBeenCalledTimes(1);
    expect(stats).toHaveBeenCalledWith(EXACT_COUNT_LIMIT);
    expect(lines(text, 'delay_tasks_tasks{')).toStrictEqual([
      'delay_tasks_tasks{state="pending"} 12',
      'delay_tasks_tasks{state="running"} 3',
      'delay_tasks_tasks{state="failed"} 0',
    ]);
    expect(lines(text, 'delay_tasks_oldest_due_age_seconds ')).toStrictEqual([
      'delay_tasks_oldest_due_age_seconds 1.5',
    ]);
  });

  it('reads again on the next scrape', async () => {
    stats.mockResolvedValueOnce(ROW).mockResolvedValueOnce({ ...ROW, pending: 0 });
    await registry.metrics();
    const text = await registry.metrics();
    expect(stats).toHaveBeenCalledTimes(2);
    expect(lines(text, 'delay_tasks_tasks{state="pending"}')).toStrictEqual([
      'delay_tasks_tasks{state="pending"} 0',
    ]);
  });

  it('reports NaN (unknown), not stale or zero values, when the database fails', async () => {
    stats.mockRejectedValue(new Error('connect ECONNREFUSED'));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const text = await registry.metrics();
    // prom-client writes NaN as "Nan"; Prometheus reads it either way.
    expect(lines(text, 'delay_tasks_tasks{')).toStrictEqual(
      TASK_STATES.map((state) => `delay_tasks_tasks{state="${state}"} Nan`),
    );
    expect(lines(text, 'delay_tasks_oldest_due_age_seconds ')).toStrictEqual([
      'delay_tasks_oldest_due_age_seconds Nan',
    ]);
    expect(warn).toHaveBeenCalledWith('task statistics unavailable: connect ECONNREFUSED');
    warn.mockRestore();
    expect(text).toContain('process_cpu_seconds_total');
  });
});
