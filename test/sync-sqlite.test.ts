import { describeSyncScenario } from './support/sync-scenario';

describeSyncScenario('sqlite');
