import { ManualClock } from '../support/fakes';
import { startDynamoDbLocalServer, storeOnFreshTable, type DynamoDbServer } from '../support/dynamodb-servers';
import { runStoreContract } from './store-contract';

let server: DynamoDbServer;
beforeAll(async () => {
  server = await startDynamoDbLocalServer();
}, 90_000);
afterAll(async () => {
  await server?.close();
});

runStoreContract("DynamoDB adapter on Amazon's DynamoDB Local", async () => {
  const clock = new ManualClock();
  return { store: await storeOnFreshTable(server, clock), clock };
});
