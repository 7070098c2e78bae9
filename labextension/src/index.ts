/**
 * Wiring only: the "Data lineage" sidebar plugin of jupyter-masking.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { lineageIcon } from './icons';
import { LineageModel } from './model';
import { CommandIDs, ISidebarSettings, PLUGIN_ID, SIDEBAR_ID } from './tokens';
import { NotebookFollower } from './tracker';
import { LineageSidebar } from './widget';

/** Rank in the left area: after the file browser, running sessions and the TOC. */
const SIDEBAR_RANK = 850;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The "Data lineage" sidebar: sources and masked columns of each %%masked_sql cell.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const model = new LineageModel(app.serviceManager.serverSettings);
    const follower = new NotebookFollower(
      notebooks,
      model,
      app.serviceManager.events
    );
    const sidebar = new LineageSidebar({
      model,
      onReveal: cellId => void follower.revealCell(cellId),
      onRefresh: () => void model.refresh(true)
    });
    app.shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Show Data Lineage',
      caption: 'Open the jupyter-masking data lineage sidebar',
      icon: lineageIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Data Lineage',
      caption: 'Ask the server again for the lineage of the current notebook',
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => model.refresh(true)
    });
    palette?.addItem({ command: CommandIDs.open, category: 'Data Masking' });
    palette?.addItem({ command: CommandIDs.refresh, category: 'Data Masking' });

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        const values = settings.composite as unknown as ISidebarSettings;
        model.updateSettings(values);
        follower.setPolling(values.pollSeconds);
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason =>
          console.warn('jupyter-masking: settings not loaded', reason)
        );
    }
    void model.loadWhoAmI();
  }
};

export default plugin;
