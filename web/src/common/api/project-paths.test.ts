import { describe, expect, test } from 'vitest';
import { apiUrlFor, basenameOf, currentProjectOf, hashRouteTarget, isLandingPath, loginUrl, pathInProject, projectBase, projectFromPath, projectHome, safeNext } from './project-paths.ts';

describe('project from the page path', () => {
  test('reads the /projects/<name> prefix', () => {
    expect(projectFromPath('/projects/fraud/experiments/1')).toBe('fraud');
    expect(projectFromPath('/projects/fraud')).toBe('fraud');
    expect(projectFromPath('/projects/fraud/')).toBe('fraud');
    expect(projectFromPath('/projects/a%2Db/models')).toBe('a-b');
  });

  test('bare URLs are the default project', () => {
    expect(projectFromPath('/experiments/1')).toBeUndefined();
    expect(projectFromPath('/')).toBeUndefined();
    expect(projectFromPath('/projectsx/a')).toBeUndefined();
    expect(projectFromPath('/projects/')).toBeUndefined();
    expect(currentProjectOf('/experiments')).toBe('default');
    expect(currentProjectOf('/projects/fraud/models')).toBe('fraud');
  });

  test('basename and the path inside the project', () => {
    expect(basenameOf('/projects/fraud/experiments/1')).toBe('/projects/fraud');
    expect(basenameOf('/projects/default/models')).toBe('/projects/default');
    expect(basenameOf('/experiments/1')).toBe('');
    expect(pathInProject('/projects/fraud/experiments/1')).toBe('/experiments/1');
    expect(pathInProject('/projects/fraud')).toBe('/');
    expect(pathInProject('/models')).toBe('/models');
  });
});

describe('URLs built for a project', () => {
  test('the default project keeps bare URLs', () => {
    expect(projectBase(undefined)).toBe('');
    expect(projectBase('default')).toBe('');
    expect(projectBase('fraud')).toBe('/projects/fraud');
    expect(projectHome('default')).toBe('/experiments');
    expect(projectHome('fraud')).toBe('/projects/fraud/experiments');
  });

  test('API paths get the prefix, once', () => {
    expect(apiUrlFor('/ajax-api/2.0/mlflow/runs/get?run_id=1', 'fraud')).toBe('/projects/fraud/ajax-api/2.0/mlflow/runs/get?run_id=1');
    expect(apiUrlFor('/ajax-api/2.0/trove/capabilities', undefined)).toBe('/ajax-api/2.0/trove/capabilities');
    expect(apiUrlFor('/ajax-api/2.0/trove/capabilities', 'default')).toBe('/ajax-api/2.0/trove/capabilities');
    expect(apiUrlFor('/api/2.0/mlflow/experiments/search', 'a')).toBe('/projects/a/api/2.0/mlflow/experiments/search');
    const once = apiUrlFor('/ajax-api/2.0/mlflow-artifacts/artifacts/1/x.png', 'fraud');
    expect(apiUrlFor(once, 'fraud')).toBe(once);
    expect(apiUrlFor('https://elsewhere/ajax-api/x', 'fraud')).toBe('https://elsewhere/ajax-api/x');
  });
});

describe('login redirects', () => {
  test('login URL carries where to come back to', () => {
    expect(loginUrl('/projects/a/experiments/1?tab=metrics')).toBe('/login?next=%2Fprojects%2Fa%2Fexperiments%2F1%3Ftab%3Dmetrics');
    expect(loginUrl('/')).toBe('/login');
  });

  test('only same-site paths are followed after login', () => {
    expect(safeNext('/projects/a/experiments/1?tab=metrics')).toBe('/projects/a/experiments/1?tab=metrics');
    expect(safeNext(null)).toBe('/');
    expect(safeNext('')).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
    expect(safeNext('//evil.example/')).toBe('/');
    expect(safeNext('/\\evil.example/')).toBe('/');
    expect(safeNext('javascript:alert(1)')).toBe('/');
    expect(safeNext('/a\nb')).toBe('/');
    expect(safeNext('/login?next=/x')).toBe('/');
  });

  test('landing pages', () => {
    expect(isLandingPath('/')).toBe(true);
    expect(isLandingPath('/experiments')).toBe(true);
    expect(isLandingPath('/models/')).toBe(true);
    expect(isLandingPath('/experiments/1')).toBe(false);
    expect(isLandingPath('/members')).toBe(false);
  });
});

describe("MLflow's hash links", () => {
  test('map to page paths in the same project', () => {
    expect(hashRouteTarget('/', '#/experiments/1/runs/abc')).toBe('/experiments/1/runs/abc');
    expect(hashRouteTarget('/projects/fraud/', '#/experiments/1/runs/abc')).toBe('/projects/fraud/experiments/1/runs/abc');
    expect(hashRouteTarget('/experiments/1', '#metric-loss')).toBeUndefined();
    expect(hashRouteTarget('/', '')).toBeUndefined();
  });
});
