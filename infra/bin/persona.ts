/** `cdk synth` runs this (infra/cdk.json): every stack of docs/provisioning.md, synthesized offline. */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.ts';

const app = new App();
buildApp(app);
app.synth();
