import { act, render } from '@testing-library/react';
import * as React from 'react';

import {
  FIRST_CARDS,
  MORE_CARDS,
  useProgressiveCount
} from '../components/NotebookView';

function Probe(props: { total: number; resetKey: string; seen: number[] }) {
  const shown = useProgressiveCount(props.total, props.resetKey);
  props.seen.push(shown);
  return <span>{shown}</span>;
}

/** Run queued animation frames one at a time. */
function flushFrames(count: number) {
  for (let i = 0; i < count; i++) {
    act(() => {
      jest.advanceTimersByTime(20);
    });
  }
}

describe('useProgressiveCount', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('renders a long list in frames and a short one at once', () => {
    const seen: number[] = [];
    const { container, rerender } = render(
      <Probe total={10} resetKey="a.ipynb" seen={seen} />
    );
    expect(container.textContent).toBe('10');

    rerender(<Probe total={500} resetKey="b.ipynb" seen={seen} />);
    expect(container.textContent).toBe(String(FIRST_CARDS));
    flushFrames(10);
    expect(container.textContent).toBe('500');
    const steps = seen.filter(n => n > FIRST_CARDS && n < 500);
    expect(steps[0]).toBe(FIRST_CARDS + MORE_CARDS);
  });

  it('starts again from the first frame when another notebook opens', () => {
    const seen: number[] = [];
    const { container, rerender } = render(
      <Probe total={500} resetKey="a.ipynb" seen={seen} />
    );
    flushFrames(10);
    expect(container.textContent).toBe('500');
    rerender(<Probe total={0} resetKey="b.ipynb" seen={seen} />);
    rerender(<Probe total={500} resetKey="a.ipynb" seen={seen} />);
    expect(container.textContent).toBe(String(FIRST_CARDS));
  });

  it('keeps what is shown when the same notebook gains a card', () => {
    const seen: number[] = [];
    const { container, rerender } = render(
      <Probe total={300} resetKey="a.ipynb" seen={seen} />
    );
    flushFrames(10);
    rerender(<Probe total={301} resetKey="a.ipynb" seen={seen} />);
    flushFrames(2);
    expect(container.textContent).toBe('301');
    expect(Math.min(...seen.slice(seen.indexOf(300)))).toBeGreaterThanOrEqual(
      300
    );
  });
});
