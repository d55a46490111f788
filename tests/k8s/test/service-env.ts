import { DeliveryEnv } from "@parley/delivery";
import { GatewayEnv } from "@parley/gateway";
import { PersisterEnv } from "@parley/persister";
import type { z } from "zod";
import type { ServiceName } from "./repo.js";

/** Each service's configuration schema (its env.ts): the single source of its settings. */
export const SERVICE_ENV: Record<ServiceName, z.ZodObject> = { gateway: GatewayEnv, persister: PersisterEnv, delivery: DeliveryEnv };
