import { NotebookModel } from '@jupyterlab/notebook';

import { buildCards } from '../lineage';
import { snapshotCells, whenAttached } from '../tracker';
import { LINEAGE_MIME } from '../tokens';
import { makeEvent } from './fixtures';

/** A real notebook model loaded from nbformat JSON, as JupyterLab holds an opened file. */
function notebookModel(cells: any[]): NotebookModel {
  const model = new NotebookModel();
  model.fromJSON({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells
  });
  return model;
}

const masked = {
  cell_type: 'code',
  id: 'c-masked',
  metadata: {},
  execution_count: 3,
  source: '%%masked_sql demo\nSELECT email FROM customers',
  outputs: [
    {
      output_type: 'display_data',
      metadata: {},
      data: {
        'text/plain': 'masked',
        'text/html': '<table></table>',
        [LINEAGE_MIME]: makeEvent({ cell_id: 'c-masked' })
      }
    }
  ]
};

const refused = {
  cell_type: 'code',
  id: 'c-refused',
  metadata: {},
  execution_count: 4,
  source: '%%masked_sql demo\nDROP TABLE customers',
  outputs: [
    {
      output_type: 'error',
      ename: 'Refused',
      evalue: 'DROP is DDL',
      traceback: ['Refused: DROP is DDL']
    }
  ]
};

describe('snapshotCells', () => {
  it('copies ids, sources, counts and outputs out of a real notebook model', () => {
    const model = notebookModel([
      { cell_type: 'markdown', id: 'c-md', metadata: {}, source: '# Title' },
      masked,
      refused
    ]);
    const cells = snapshotCells(model);
    expect(cells.map(c => [c.id, c.executionCount])).toEqual([
      ['c-md', null],
      ['c-masked', 3],
      ['c-refused', 4]
    ]);
    expect(cells[2].outputs).toEqual([
      { output_type: 'error', ename: 'Refused', evalue: 'DROP is DDL' }
    ]);

    const cards = buildCards(cells);
    expect(cards.map(c => [c.cellId, c.outcome])).toEqual([
      ['c-masked', 'allowed'],
      ['c-refused', 'refused']
    ]);
    expect(cards[0].event?.outputs[0].data_class).toBe('pii.email');
    model.dispose();
  });

  it('sees outputs added after load (a cell that just finished)', () => {
    const model = notebookModel([{ ...masked, outputs: [] }]);
    expect(buildCards(snapshotCells(model))).toEqual([]);
    const cell = model.cells.get(0) as any;
    cell.outputs.add(masked.outputs[0]);
    expect(buildCards(snapshotCells(model)).map(c => c.cellId)).toEqual([
      'c-masked'
    ]);
    model.dispose();
  });
});

describe('whenAttached', () => {
  it('resolves true once the node is in the document', async () => {
    const node = document.createElement('div');
    const waiting = whenAttached(node, () => false, 5000);
    setTimeout(() => document.body.appendChild(node), 20);
    await expect(waiting).resolves.toBe(true);
    node.remove();
  });

  it('resolves false when cancelled or timed out', async () => {
    const node = document.createElement('div');
    await expect(whenAttached(node, () => true, 5000)).resolves.toBe(false);
    await expect(whenAttached(node, () => false, 60)).resolves.toBe(false);
  });
});
