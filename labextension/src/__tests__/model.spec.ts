import { ServerConnection } from '@jupyterlab/services';

import { LineageModel } from '../model';
import { MaskingAPIError, requestAPI } from '../request';
import { cell, lineageOutput, makeEvent } from './fixtures';

jest.mock('../request', () => ({
  ...jest.requireActual('../request'),
  requestAPI: jest.fn()
}));

const mockedRequest = requestAPI as jest.MockedFunction<typeof requestAPI>;
const settings = ServerConnection.makeSettings({
  baseUrl: 'http://localhost/'
});

const notInstalled = () =>
  new MaskingAPIError(
    404,
    'not_installed',
    'not running',
    'pip install jupyter-masking'
  );

/** A model on `work/demo.ipynb` that counts its `changed` emissions. */
function openModel(): { model: LineageModel; changes: () => number } {
  const model = new LineageModel(settings);
  let count = 0;
  model.changed.connect(() => count++);
  model.setNotebook('work/demo.ipynb');
  return { model, changes: () => count };
}

beforeEach(() => mockedRequest.mockReset());

describe('LineageModel', () => {
  it('is loading until the cells arrive, then ready', () => {
    const { model } = openModel();
    expect(model.state).toBe('loading');
    model.setCells([cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent())])]);
    expect(model.state).toBe('ready');
    expect(model.cards.map(c => c.cellId)).toEqual(['cell-a']);
  });

  it('emits once for an empty notebook so the empty state renders', () => {
    const { model, changes } = openModel();
    const before = changes();
    model.setCells([cell('md', '# nothing masked')]);
    expect(model.state).toBe('ready');
    expect(changes()).toBe(before + 1);
  });

  it('does not emit when a re-read finds the same cards', () => {
    const { model, changes } = openModel();
    const cells = [cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent())])];
    model.setCells(cells);
    const before = changes();
    model.setCells([...cells]);
    expect(changes()).toBe(before);
  });

  it('asks the server for this notebook and merges newer events', async () => {
    const { model } = openModel();
    model.setCells([cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent())])]);
    mockedRequest.mockResolvedValueOnce({
      events: [makeEvent({ id: 'newer', time: '2026-11-28T09:00:00Z' })]
    });
    await model.refresh();
    expect(mockedRequest.mock.calls[0][0]).toBe(
      'events?path=work%2Fdemo.ipynb'
    );
    expect(model.cards[0].event?.id).toBe('newer');
    expect(model.serverError).toBeNull();
  });

  it('drops a server reply that arrives after the user switched notebooks', async () => {
    const { model } = openModel();
    let answer: (value: unknown) => void = () => undefined;
    mockedRequest.mockReturnValueOnce(
      new Promise(resolve => (answer = resolve)) as any
    );
    const pending = model.refresh();
    model.setNotebook('other.ipynb');
    model.setCells([cell('cell-a', 'SELECT 1')]);
    answer({ events: [makeEvent()] });
    await pending;
    expect(model.path).toBe('other.ipynb');
    expect(model.cards).toEqual([]);
  });

  it('keeps the saved-output cards when the server extension is missing, and stops asking', async () => {
    const { model } = openModel();
    model.setCells([cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent())])]);
    mockedRequest.mockRejectedValue(notInstalled());
    await model.refresh();
    expect(model.serverError?.notInstalled).toBe(true);
    expect(model.cards).toHaveLength(1);

    await model.refresh();
    expect(mockedRequest).toHaveBeenCalledTimes(1);
  });

  it('retries a missing server extension when the user asks', async () => {
    const { model } = openModel();
    model.setCells([cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent())])]);
    mockedRequest.mockRejectedValueOnce(notInstalled());
    await model.refresh();
    mockedRequest.mockImplementation(async (endPoint: string) =>
      endPoint === 'whoami'
        ? {
            user: 'alice',
            groups: [],
            actor: 'human',
            reviewer: false,
            mode: 'hub',
            policy_version: null
          }
        : { events: [] }
    );
    await model.refresh(true);
    expect(model.serverError).toBeNull();
    expect(model.whoami?.user).toBe('alice');
  });

  it('records whoami failures instead of throwing', async () => {
    const model = new LineageModel(settings);
    mockedRequest.mockRejectedValueOnce(new Error('boom'));
    await expect(model.loadWhoAmI()).resolves.toBeUndefined();
    expect(model.whoami).toBeNull();
    expect(model.serverError?.code).toBe('unexpected');
  });

  it('does not ask the server when no notebook is open', async () => {
    const model = new LineageModel(settings);
    await model.refresh(true);
    expect(mockedRequest).not.toHaveBeenCalled();
    expect(model.state).toBe('no-notebook');
  });

  it('selects cells and emits only on a change of selection', () => {
    const { model, changes } = openModel();
    model.select('cell-a');
    const before = changes();
    model.select('cell-a');
    expect(changes()).toBe(before);
    model.select(null);
    expect(model.selectedCellId).toBeNull();
  });
});

describe('LineageModel card identity', () => {
  it('keeps unchanged card objects across rebuilds so views can skip them', () => {
    const { model } = openModel();
    const a = cell('cell-a', 'SELECT 1', [lineageOutput(makeEvent())]);
    const b = cell('cell-b', 'SELECT 2', [
      lineageOutput(makeEvent({ id: 'b', cell_id: 'cell-b' }))
    ]);
    model.setCells([a, b]);
    const [firstA, firstB] = model.cards;
    model.setCells([a, { ...b, source: 'SELECT 3' }]);
    expect(model.cards[0]).toBe(firstA);
    expect(model.cards[1]).not.toBe(firstB);
    expect(model.cards[1].excerpt).toBe('SELECT 3');
  });
});
