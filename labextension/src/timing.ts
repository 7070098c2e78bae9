/**
 * User Timing marks for the sidebar, so its render cost can be read in the browser's
 * performance panel (and by the UI test) instead of guessed.
 */

/** Marked when the model changes; the `RENDER_MEASURE` runs from here. */
export const CHANGE_MARK = 'jupyter-masking:changed';
/** Measured from the latest `CHANGE_MARK` until the frame showing the new cards has painted. */
export const RENDER_MEASURE = 'jupyter-masking:render';

/** Keep the browser's timing buffer small over a long session. */
const MAX_MEASURES = 50;

const hasTiming = (): boolean =>
  typeof performance !== 'undefined' &&
  typeof performance.mark === 'function' &&
  typeof performance.measure === 'function';

/** Note that the model changed (a render will follow). */
export function markChange(): void {
  if (hasTiming()) {
    performance.clearMarks(CHANGE_MARK);
    performance.mark(CHANGE_MARK);
  }
}

/**
 * After a commit: once the next frame has painted, measure from the last change.
 *
 * @param shown - cards now in the DOM
 * @param total - cards the notebook has (long lists are rendered over several frames)
 */
export function measureRender(shown: number, total: number): void {
  if (!hasTiming() || typeof requestAnimationFrame !== 'function') {
    return;
  }
  requestAnimationFrame(() =>
    setTimeout(() => {
      if (performance.getEntriesByName(CHANGE_MARK, 'mark').length === 0) {
        return;
      }
      if (performance.getEntriesByName(RENDER_MEASURE).length > MAX_MEASURES) {
        performance.clearMeasures(RENDER_MEASURE);
      }
      performance.measure(RENDER_MEASURE, {
        start: CHANGE_MARK,
        detail: { shown, total }
      });
    })
  );
}
