import { bannerText, copyContext } from '../copies';

const RUN = '0123456789abcdef0123456789abcdef';

describe("a run's notebook copy", () => {
  it('is told by its metadata, and only by a complete one', () => {
    expect(copyContext({ run_id: RUN, which: 'replay', run_name: 'baseline' })).toEqual({
      run_id: RUN,
      which: 'replay',
      run_name: 'baseline',
      captured_at: null,
      saved_at: null
    });
    expect(copyContext({ replay: true, executions: 3 })).toBeNull(); // a rerun's replay
    expect(copyContext({ run_id: RUN, which: 'html' })).toBeNull();
    expect(copyContext(undefined)).toBeNull();
  });

  it('names the run and its time; the document says when it was saved', () => {
    const now = Date.parse('2026-12-05T09:00:00Z');
    const replay = bannerText(
      { run_id: RUN, which: 'replay', run_name: 'baseline', captured_at: '2026-12-05T08:00:00Z' },
      now
    );
    expect(replay[0]).toMatch(/^A copy of run baseline \(01234567\), captured 1 hour ago \(/);
    expect(replay[1]).toBe('No kernel was started: choose one to run it.');
    const doc = bannerText(
      {
        run_id: RUN,
        which: 'document',
        run_name: 'baseline',
        captured_at: '2026-12-05T08:00:00Z',
        saved_at: '2026-12-05T07:30:00Z'
      },
      now
    );
    expect(doc[0]).toMatch(/, as it was saved 1 hour ago \(/);
    expect(doc[1]).toMatch(/edited after that save/);
  });
});
