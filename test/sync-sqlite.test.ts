import { describeSyncScenario } from './support/sync-scenario';

// Leads by a custom lookup field here and by email on PostgreSQL: both ways of rule 5, both stores.
describeSyncScenario('sqlite', 'dynamicsContactId');
