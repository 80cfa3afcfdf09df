#!/usr/bin/env node
// Validates every custom resource in the YAML files under a directory against the OpenAPI schemas
// that the pinned @kubernetes-models packages carry (generated from the operators' own Go types).
//
//   node validate.mjs <dir> [--checked-elsewhere <apiVersion>/<Kind> ...]
//
// Built-in Kubernetes kinds are left to kubernetes-validate; a custom resource whose kind no pinned
// package knows is an error, so a new CRD cannot slip through unvalidated, unless the caller names it
// as checked elsewhere (a kind whose schema no npm package carries, held against recorded facts). Exit status: 0 when
// every custom resource is valid, 1 when any is not (each printed with its file and the error),
// 2 for usage errors (no directory, no YAML files, unreadable YAML).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as certManager from "@kubernetes-models/cert-manager";
import * as prometheusOperator from "@kubernetes-models/prometheus-operator";
import * as traefik from "@kubernetes-models/traefik";
import yaml from "js-yaml";

// API groups served by Kubernetes itself (no CRD): not this tool's job.
const BUILT_IN_GROUP = /^(|apps|batch|policy|autoscaling|[a-z0-9.-]*\.k8s\.io)$/;

function collectModels(namespace, registry) {
  for (const value of Object.values(namespace)) {
    if (typeof value === "function" && value.apiVersion && value.kind) {
      registry.set(`${value.apiVersion}/${value.kind}`, value);
    } else if (value && typeof value === "object") {
      collectModels(value, registry);
    }
  }
  return registry;
}

function yamlFiles(dir) {
  return readdirSync(dir).sort().flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

function main(argv) {
  const dir = argv[0];
  const elsewhere = new Set();
  for (let i = 1; i < argv.length; i += 2) {
    if (argv[i] !== "--checked-elsewhere" || !argv[i + 1]) {
      console.error(`usage: node validate.mjs <dir> [--checked-elsewhere <apiVersion>/<Kind> ...] (got ${JSON.stringify(argv[i])})`);
      return 2;
    }
    elsewhere.add(argv[i + 1]);
  }
  if (!dir || !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`usage: node validate.mjs <directory of YAML manifests> (got ${JSON.stringify(dir)})`);
    return 2;
  }
  const models = collectModels({ certManager, prometheusOperator, traefik }, new Map());
  const files = yamlFiles(dir);
  if (files.length === 0) {
    console.error(`no .yaml/.yml files under ${dir}: nothing was validated`);
    return 2;
  }
  let valid = 0;
  let invalid = 0;
  for (const file of files) {
    let documents;
    try {
      documents = yaml.loadAll(readFileSync(file, "utf8"));
    } catch (error) {
      console.error(`FAIL ${relative(dir, file)}: not valid YAML: ${error.message}`);
      return 2;
    }
    for (const doc of documents) {
      if (!doc || typeof doc !== "object") continue;
      const { apiVersion = "", kind = "" } = doc;
      const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
      if (BUILT_IN_GROUP.test(group)) continue;
      const label = `${relative(dir, file)} ${apiVersion} ${kind}/${doc.metadata?.name ?? "<no name>"}`;
      const Model = models.get(`${apiVersion}/${kind}`);
      if (!Model && elsewhere.has(`${apiVersion}/${kind}`)) {
        console.log(`ELSEWHERE ${label}`);
        continue;
      }
      if (!Model) {
        console.error(`FAIL ${label}: no schema for ${apiVersion} ${kind} in the pinned @kubernetes-models packages`);
        invalid += 1;
        continue;
      }
      try {
        new Model(doc).validate();
        console.log(`OK   ${label}`);
        valid += 1;
      } catch (error) {
        console.error(`FAIL ${label}: ${error.message}`);
        console.error(yaml.dump(doc, { lineWidth: 120 }).replace(/^/gm, "     | "));
        invalid += 1;
      }
    }
  }
  console.log(`${valid} custom resource(s) valid, ${invalid} invalid, in ${files.length} file(s)`);
  return invalid === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
