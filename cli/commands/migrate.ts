import { MarketoStore } from '../../store';
import { commandContext } from '../context';

export async function migrateCommand(): Promise<number> {
  const { config, logger } = commandContext('migrate');
  const store = await MarketoStore.open(config.storeUrl);
  try {
    const { applied } = await store.migrate();
    logger.info({ applied }, applied.length === 0 ? 'store schema is up to date' : 'store schema migrated');
    process.stdout.write(
      applied.length === 0 ? 'Store schema is up to date.\n' : `Applied: ${applied.join(', ')}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
