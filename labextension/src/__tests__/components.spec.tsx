import { ServerConnection } from '@jupyterlab/services';
import {
  act,
  fireEvent,
  render,
  screen,
  waitFor,
  within
} from '@testing-library/react';
import * as React from 'react';

import { LineagePanel } from '../components/LineagePanel';
import { NotebookView } from '../components/NotebookView';
import { ReviewerView, toInstant } from '../components/ReviewerView';
import { LineageModel } from '../model';
import { MaskingAPIError, requestAPI } from '../request';
import { IWhoAmI } from '../tokens';
import {
  cell,
  column,
  lineageOutput,
  makeEvent,
  refusedOutput
} from './fixtures';

jest.mock('../request', () => ({
  ...jest.requireActual('../request'),
  requestAPI: jest.fn()
}));

const mockedRequest = requestAPI as jest.MockedFunction<typeof requestAPI>;
const settings = ServerConnection.makeSettings({
  baseUrl: 'http://localhost/'
});

const WHO: IWhoAmI = {
  user: 'rita',
  groups: ['reviewers'],
  actor: 'human',
  reviewer: true,
  mode: 'hub',
  policy_version: 'demo@1'
};

function readyModel(
  cells = [
    cell('cell-a', '%%masked_sql demo\nSELECT email, country FROM customers', [
      lineageOutput(
        makeEvent({
          identity: { user: 'alice', groups: [], actor: 'ai:jupyter-ai' }
        })
      )
    ]),
    cell(
      'cell-b',
      '%%masked_sql demo\nDELETE FROM customers',
      [refusedOutput('DELETE is a write; only reads are allowed')],
      7
    )
  ]
): LineageModel {
  const model = new LineageModel(settings);
  model.setNotebook('work/demo.ipynb');
  model.setCells(cells);
  return model;
}

function renderView(model: LineageModel) {
  const onReveal = jest.fn();
  const onRefresh = jest.fn();
  const view = render(
    <NotebookView model={model} onReveal={onReveal} onRefresh={onRefresh} />
  );
  return { ...view, onReveal, onRefresh };
}

beforeEach(() => mockedRequest.mockReset());

describe('NotebookView states', () => {
  it('says to open a notebook when none is open', () => {
    renderView(new LineageModel(settings));
    expect(screen.getByText('No notebook open')).toBeTruthy();
  });

  it('shows a loading state while the notebook opens', () => {
    const model = new LineageModel(settings);
    model.setNotebook('a.ipynb');
    renderView(model);
    expect(screen.getByRole('status').getAttribute('aria-busy')).toBe('true');
  });

  it('explains how to get lineage in a notebook without masked queries', () => {
    renderView(readyModel([cell('c', 'print(1)')]));
    expect(
      screen.getByText('No masked queries in this notebook yet')
    ).toBeTruthy();
    expect(screen.getByText('%load_ext jupyter_masking')).toBeTruthy();
  });

  it('shows the pip command when the server extension is missing, and still lists cards', async () => {
    const model = readyModel();
    mockedRequest.mockRejectedValue(
      new MaskingAPIError(
        404,
        'not_installed',
        'The server extension is not running.',
        'pip install jupyter-masking'
      )
    );
    await model.refresh();
    const { onRefresh } = renderView(model);
    expect(screen.getByText('pip install jupyter-masking')).toBeTruthy();
    expect(screen.getAllByRole('button', { name: /^Cell/ })).toHaveLength(2);
    fireEvent.click(screen.getByText('Retry'));
    expect(onRefresh).toHaveBeenCalled();
  });
});

describe('cell cards', () => {
  it('show count, excerpt, who, rows, tables, masked column with class/operator/rule and policy', () => {
    renderView(readyModel());
    const card = screen.getAllByRole('button', { name: /^Cell/ })[0];
    const text = card.textContent ?? '';
    expect(text).toContain('[3]');
    expect(text).toContain('SELECT email, country FROM customers');
    expect(text).toContain('alice via jupyter-ai');
    expect(text).toContain('10 rows');
    expect(text).toContain('customers.email');
    expect(text).toContain('policy demo@1a2b3c4d5e6f');
    const flow = within(card).getByText('email', {
      selector: '.jp-masking-flow-output'
    }).parentElement as HTMLElement;
    expect(flow.textContent).toContain('customers.email');
    expect(flow.textContent).toContain('pii.email');
    expect(flow.textContent).toContain('pseudonym');
    expect(flow.textContent).toContain('default:pii.email');
    expect(flow.textContent).toContain('masked');
  });

  it('show a refused query with its reason and no rows', () => {
    renderView(readyModel());
    const card = screen.getAllByRole('button', { name: /^Cell/ })[1];
    expect(card.textContent).toContain('[7]');
    expect(card.textContent).toContain('refused');
    expect(card.textContent).toContain(
      'DELETE is a write; only reads are allowed'
    );
    expect(card.textContent).not.toContain('rows');
  });

  it('hide raw columns when the setting says so', () => {
    const model = readyModel();
    model.updateSettings({ showRawColumns: false });
    renderView(model);
    const card = screen.getAllByRole('button', { name: /^Cell/ })[0];
    expect(
      within(card).queryByText('country', {
        selector: '.jp-masking-flow-output'
      })
    ).toBeNull();
    expect(
      within(card).getByText('email', { selector: '.jp-masking-flow-output' })
    ).toBeTruthy();
  });

  it('mark the selected cell with aria-current', () => {
    const model = readyModel();
    model.select('cell-b');
    renderView(model);
    const [a, b] = screen.getAllByRole('button', { name: /^Cell/ });
    expect(a.getAttribute('aria-current')).toBeNull();
    expect(b.getAttribute('aria-current')).toBe('true');
    expect(b.className).toContain('jp-mod-selected');
  });

  it('reveal their cell on click, Enter and Space, and move focus with the arrow keys', () => {
    const { onReveal } = renderView(readyModel());
    const [a, b] = screen.getAllByRole('button', { name: /^Cell/ });
    fireEvent.click(a);
    fireEvent.keyDown(b, { key: 'Enter' });
    fireEvent.keyDown(b, { key: ' ' });
    expect(onReveal.mock.calls).toEqual([['cell-a'], ['cell-b'], ['cell-b']]);
    a.focus();
    fireEvent.keyDown(a, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(b);
    fireEvent.keyDown(b, { key: 'ArrowUp' });
    expect(document.activeElement).toBe(a);
  });

  it('show a derived column with all its sources', () => {
    const event = makeEvent({
      outputs: [
        column({
          name: 'contact',
          sources: ['demo.main.customers.email', 'demo.main.customers.phone'],
          transform: 'transformation'
        })
      ]
    });
    renderView(
      readyModel([cell('cell-a', 'SELECT 1', [lineageOutput(event)])])
    );
    const flow = screen.getByText('contact').parentElement as HTMLElement;
    expect(flow.textContent).toContain('customers.email, customers.phone');
    expect(flow.textContent).toContain('derived');
  });
});

describe('LineagePanel', () => {
  function renderPanel(model: LineageModel) {
    return render(
      <LineagePanel model={model} onReveal={jest.fn()} onRefresh={jest.fn()} />
    );
  }

  it('has no Review tab for a plain user on a hub', async () => {
    const model = readyModel();
    mockedRequest.mockResolvedValueOnce({ ...WHO, reviewer: false });
    await model.loadWhoAmI();
    renderPanel(model);
    expect(screen.queryByRole('tab', { name: 'Review' })).toBeNull();
    expect(screen.getByText('demo.ipynb')).toBeTruthy();
  });

  it('offers the Review tab to reviewers and in single-user mode', async () => {
    for (const who of [
      WHO,
      { ...WHO, reviewer: false, mode: 'embedded' as const }
    ]) {
      const model = readyModel();
      mockedRequest.mockResolvedValueOnce(who);
      await model.loadWhoAmI();
      const view = renderPanel(model);
      expect(screen.getByRole('tab', { name: 'Review' })).toBeTruthy();
      view.unmount();
    }
  });
});

describe('ReviewerView', () => {
  it('lists events across users, refused ones included, and expands one', async () => {
    mockedRequest.mockResolvedValueOnce({
      events: [
        makeEvent({
          id: 'e1',
          identity: { user: 'bob', groups: [], actor: 'human' }
        }),
        makeEvent({
          id: 'e2',
          outcome: 'refused',
          reason: 'DROP is DDL',
          sql: 'DROP TABLE t',
          outputs: []
        })
      ]
    });
    render(<ReviewerView serverSettings={settings} whoami={WHO} />);
    const rows = await screen.findAllByRole('button', { expanded: false });
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain('bob');
    expect(rows[0].textContent).toContain('pii.email');
    expect(rows[1].textContent).toContain('refused');
    fireEvent.click(rows[1]);
    expect(screen.getByText('DROP TABLE t')).toBeTruthy();
    expect(screen.getByText('DROP is DDL')).toBeTruthy();
    expect(screen.getByText('Showing all users.')).toBeTruthy();
  });

  it('sends the filters to the server', async () => {
    mockedRequest.mockResolvedValue({ events: [] });
    const { container } = render(
      <ReviewerView serverSettings={settings} whoami={WHO} />
    );
    await screen.findByText('No events match these filters');
    fireEvent.change(container.querySelector('input[name=user]')!, {
      target: { value: 'bob' }
    });
    fireEvent.change(container.querySelector('select[name=outcome]')!, {
      target: { value: 'refused' }
    });
    await act(async () => {
      fireEvent.click(screen.getByText('Apply'));
    });
    const last =
      mockedRequest.mock.calls[mockedRequest.mock.calls.length - 1][0];
    expect(last).toBe('events?user=bob&outcome=refused&limit=200');
  });

  it('shows the server error and its hint', async () => {
    mockedRequest.mockRejectedValueOnce(
      new MaskingAPIError(
        403,
        'not_reviewer',
        'Only reviewers can see other users.',
        'Ask an admin.'
      )
    );
    render(<ReviewerView serverSettings={settings} whoami={WHO} />);
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toContain('Ask an admin.')
    );
  });

  it('toInstant turns a local date-time into an ISO instant and rejects junk', () => {
    expect(toInstant('')).toBe('');
    expect(toInstant('not a date')).toBe('');
    expect(toInstant('2026-11-28T07:00')).toMatch(
      /^2026-11-2\dT\d\d:00:00\.000Z$/
    );
  });
});
