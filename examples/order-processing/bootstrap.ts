import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config.js';

export interface RunningApp {
  app: INestApplication;
  url: string;
}

/** Creates the app, listens on 127.0.0.1:`config.port` (0 = any free port) and returns its base URL. */
export async function startApp(config: AppConfig, logLevels: LogLevel[] = ['error', 'warn', 'log']): Promise<RunningApp> {
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: logLevels });
  app.enableShutdownHooks();
  await app.listen(config.port, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}
