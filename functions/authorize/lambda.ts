import { composedOnce, rootLogger } from '../runtime/composition';
import { composeAuthorize, readAuthorizeConfig } from './dependencies';
import { createAuthorizeHandler } from './handler';

export const handler = createAuthorizeHandler(composedOnce(() => composeAuthorize(readAuthorizeConfig())), rootLogger);
