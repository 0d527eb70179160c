/** The encryption context every data key of this app carries; IAM conditions in the stack require it. */
export const TOKEN_ENCRYPTION_CONTEXT = { appKey: 'app', appValue: 'ecwid-app-auth', storeKey: 'storeId' } as const;
