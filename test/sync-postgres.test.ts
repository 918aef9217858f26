import { describeSyncScenario } from './support/sync-scenario';

describeSyncScenario('postgres');
