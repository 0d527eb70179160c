import { composedOnce, rootLogger } from '../runtime/composition';
import { composeWebhooks, readWebhooksConfig } from './dependencies';
import { createWebhooksHandler } from './handler';

export const handler = createWebhooksHandler(composedOnce(() => composeWebhooks(readWebhooksConfig())), rootLogger);
