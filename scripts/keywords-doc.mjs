#!/usr/bin/env node
// Writes docs/KEYWORDS.md from the built parser's keyword tables (npm run docs:keywords).
import { readFileSync, writeFileSync } from 'node:fs';
import { keywordCatalogue, renderKeywordsMarkdown } from '../dist/config/keywords.js';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
writeFileSync(new URL('docs/KEYWORDS.md', root), renderKeywordsMarkdown(keywordCatalogue(), version));
