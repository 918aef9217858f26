import { describeSyncScenario } from './support/sync-scenario';

// Leads by email here and by a custom lookup field on SQLite: both ways of rule 5, both stores.
describeSyncScenario('postgres', 'email');
