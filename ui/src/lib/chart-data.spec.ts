import {
  deliveryRates,
  forecastColumns,
  latenessColumns,
  outcomesOf,
  summarizeForecast,
  summarizeSeries,
  type SeriesPoint,
} from './chart-data';

const points: SeriesPoint[] = [
  {
    t: 100,
    outcomes: { success: 20, http_5xx: 5 },
    deliveries: 25,
    latenessP50Ms: 2,
    latenessP99Ms: 9,
  },
  { t: 110, outcomes: {}, deliveries: 0, latenessP50Ms: null, latenessP99Ms: null },
  {
    t: 120,
    outcomes: { zzz_new: 1, timeout: 10 },
    deliveries: 11,
    latenessP50Ms: 3,
    latenessP99Ms: 40,
  },
];

describe('chart data', () => {
  it('orders outcomes with success first and unknown ones last', () => {
    expect(outcomesOf(points)).toEqual(['success', 'http_5xx', 'timeout', 'zzz_new']);
  });

  it('turns counts per bucket into rates per second, zero where absent', () => {
    expect(deliveryRates(points, 10, ['success', 'timeout'])).toEqual([
      [100, 110, 120],
      [2, 0, 0],
      [0, 0, 1],
    ]);
  });

  it('keeps lateness gaps as null', () => {
    expect(latenessColumns(points)).toEqual([
      [100, 110, 120],
      [2, null, 3],
      [9, null, 40],
    ]);
  });

  it('sums the series', () => {
    expect(summarizeSeries(points)).toEqual({
      deliveries: 36,
      byOutcome: { success: 20, http_5xx: 5, zzz_new: 1, timeout: 10 },
    });
  });

  it('summarizes the forecast, flagging capped minutes', () => {
    const minutes = [
      { t: 60, count: 3 },
      { t: 120, count: 10000, capped: true as const },
      { t: 180, count: 0 },
    ];
    expect(forecastColumns(minutes)).toEqual([
      [60, 120, 180],
      [3, 10000, 0],
    ]);
    expect(summarizeForecast(minutes)).toEqual({ total: 10003, capped: true, busiest: minutes[1] });
    expect(summarizeForecast([])).toEqual({ total: 0, capped: false, busiest: null });
  });
});
