// Bodies of the auth service (docs/design.md §3) and the access-token claims every
// verifier checks.
import {
  displayNameSchema,
  idSchema,
  isoDateTimeSchema,
  passwordSchema,
  usernameSchema,
} from './common';
import { z } from './zod';

export const userSchema = z
  .object({
    id: idSchema,
    username: z.string(),
    displayName: z.string(),
    createdAt: isoDateTimeSchema,
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof userSchema>;

export const registerRequestSchema = z
  .strictObject({
    username: usernameSchema,
    password: passwordSchema,
    displayName: displayNameSchema.optional(),
  })
  .meta({ id: 'RegisterRequest' });
export type RegisterRequest = z.input<typeof registerRequestSchema>;

export const loginRequestSchema = z
  .strictObject({
    // Looser than registration on purpose: a name that could never exist is simply
    // unknown (invalid_credentials), which tells an attacker nothing.
    username: z.string().min(1).max(64).toLowerCase(),
    password: z.string().min(1).max(1024),
  })
  .meta({ id: 'LoginRequest' });
export type LoginRequest = z.input<typeof loginRequestSchema>;

export const refreshTokenValueSchema = z.string().min(16).max(512);

export const refreshRequestSchema = z
  .strictObject({ refreshToken: refreshTokenValueSchema })
  .meta({ id: 'RefreshRequest' });
export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

export const logoutRequestSchema = z
  .strictObject({ refreshToken: refreshTokenValueSchema })
  .meta({ id: 'LogoutRequest' });
export type LogoutRequest = z.infer<typeof logoutRequestSchema>;

export const changePasswordRequestSchema = z
  .strictObject({
    // any string the old password could have been: a wrong one is invalid_credentials
    currentPassword: z.string().min(1).max(1024),
    newPassword: passwordSchema,
  })
  .meta({ id: 'ChangePasswordRequest' });
export type ChangePasswordRequest = z.infer<typeof changePasswordRequestSchema>;

export const tokenResponseSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().meta({ description: 'Access token lifetime in seconds' }),
    user: userSchema,
  })
  .meta({ id: 'TokenResponse' });
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

export const userResponseSchema = z.object({ user: userSchema }).meta({ id: 'UserResponse' });
export type UserResponse = z.infer<typeof userResponseSchema>;

export const usersResponseSchema = z
  .object({ users: z.array(userSchema) })
  .meta({ id: 'UsersResponse' });
export type UsersResponse = z.infer<typeof usersResponseSchema>;

export const USERS_QUERY_MAX_IDS = 100;
export const usersQuerySchema = z.object({
  ids: z
    .string()
    .max(USERS_QUERY_MAX_IDS * 130)
    .transform((s) => [
      ...new Set(
        s
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(z.array(idSchema).min(1, 'ids must name at least one id').max(USERS_QUERY_MAX_IDS)),
});
export type UsersQuery = z.output<typeof usersQuerySchema>;

export const usernameParamsSchema = z.object({ username: z.string().min(1).max(64).toLowerCase() });

/** A public key in JWK form, as served at /.well-known/jwks.json. */
export const jwkSchema = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP']),
    kid: z.string(),
    use: z.literal('sig').optional(),
    alg: z.string().optional(),
  })
  .meta({ id: 'Jwk' });
export const jwksSchema = z.object({ keys: z.array(jwkSchema) }).meta({ id: 'Jwks' });
export type Jwks = z.infer<typeof jwksSchema>;

/** Claims of a Parley access token (header carries `kid`; alg RS256 or ES256). */
export const accessTokenClaimsSchema = z.object({
  sub: idSchema,
  username: z.string(),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string().min(1),
});
export type AccessTokenClaims = z.infer<typeof accessTokenClaimsSchema>;
export const ACCESS_TOKEN_ALGORITHMS = ['RS256', 'ES256'] as const;
