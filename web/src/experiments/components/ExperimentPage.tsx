import { useState } from 'react';
import { useLocation, useNavigate, useParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import type { Experiment } from '../../common/api/types.ts';
import { useCurrentExperiment } from '../../common/components/ClientSnippet.tsx';
import { DescriptionEditor, TagsEditor } from '../../common/components/editors.tsx';
import { Breadcrumbs, Loading, PageError, Tabs } from '../../common/components/ui.tsx';
import { TracesList } from '../../traces/components/TracesList.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatTimestamp } from '../../common/utils/format.ts';
import { experimentActions, getExperiment } from '../api/experiments-api.ts';
import { RunsSection } from './RunsSection.tsx';
import { NameDialog } from './ExperimentsPage.tsx';

const NOTE_TAG = 'mlflow.note.content';
const EXPERIMENT_TABS = [
  { id: 'runs', label: 'Runs' },
  { id: 'traces', label: 'Traces' },
];

/** An experiment: its details and the runs table (or the chart view). */
export default function ExperimentPage() {
  const { experimentId = '' } = useParams();
  // Remount per experiment so per-experiment state (columns, selection) starts fresh.
  return <ExperimentView key={experimentId} experimentId={experimentId} />;
}

function ExperimentView({ experimentId }: { experimentId: string }) {
  const navigate = useNavigate();
  const can = useCan();
  const location = useLocation();
  const tab = location.pathname.endsWith('/traces') ? 'traces' : 'runs';
  const [detailsOpen, setDetailsOpen] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const experiment = useApi((signal) => getExperiment(experimentId, signal), [experimentId]);
  useCurrentExperiment(experiment.data?.name);

  const exp: Experiment | undefined = experiment.data;
  const setExpTag = async (key: string, value: string) => {
    await experimentActions.setTag(experimentId, key, value);
    experiment.reload();
  };

  return (
    <div className="page page-wide">
      <Breadcrumbs items={[{ label: 'Experiments', to: '/experiments' }, { label: exp?.name ?? experimentId }]} />
      {experiment.error !== undefined ? (
        <PageError error={experiment.error} what="Experiment" onRetry={experiment.reload} />
      ) : !exp ? (
        <Loading />
      ) : (
        <>
          <div className="page-head">
            <h1>
              {exp.name} {exp.lifecycle_stage === 'deleted' && <span className="badge badge-muted">deleted</span>}
            </h1>
            <div className="row-actions">
              <button type="button" className="btn btn-small" aria-expanded={detailsOpen} onClick={() => setDetailsOpen(!detailsOpen)}>
                {detailsOpen ? 'Hide details' : 'Details & tags'}
              </button>
              {exp.lifecycle_stage === 'active' ? (
                <>
                  {can('edit_experiment') && (
                    <button type="button" className="btn btn-small" onClick={() => setRenaming(true)}>
                      Rename
                    </button>
                  )}
                  {experimentId !== '0' && can('delete_experiment') && (
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      onClick={() => {
                        if (window.confirm(`Delete experiment “${exp.name}”?`))
                          experimentActions.delete(experimentId).then(() => navigate('/experiments')).catch((err: unknown) => window.alert(errorMessage(err)));
                      }}
                    >
                      Delete
                    </button>
                  )}
                </>
              ) : (
                can('delete_experiment') && (
                  <button type="button" className="btn btn-small" onClick={() => void experimentActions.restore(experimentId).then(() => experiment.reload())}>
                    Restore
                  </button>
                )
              )}
            </div>
          </div>
          <p className="muted small">
            ID {exp.experiment_id} · created {formatTimestamp(exp.creation_time)} · artifacts <span className="mono">{exp.artifact_location}</span>
          </p>
          {detailsOpen && (
            <section className="panel" aria-label="Experiment details">
              <h2>Description</h2>
              <DescriptionEditor value={exp.tags?.find((t) => t.key === NOTE_TAG)?.value ?? ''} save={(text) => setExpTag(NOTE_TAG, text)} readOnly={!can('edit_experiment')} />
              <h2>Tags</h2>
              <TagsEditor
                tags={exp.tags ?? []}
                hideSystem
                readOnly={!can('edit_experiment')}
                setTag={setExpTag}
                deleteTag={async (key) => {
                  await experimentActions.deleteTag(experimentId, key);
                  experiment.reload();
                }}
              />
            </section>
          )}
        </>
      )}

      {experiment.error === undefined && (
        <>
          <Tabs tabs={EXPERIMENT_TABS} active={tab} onChange={(id) => navigate(id === 'traces' ? `/experiments/${experimentId}/traces` : `/experiments/${experimentId}`)} />
          <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
            {tab === 'traces' ? <TracesList experimentId={experimentId} /> : <RunsSection experimentId={experimentId} experimentName={exp?.name} />}
          </div>
        </>
      )}
      {renaming && exp && (
        <NameDialog
          title={`Rename “${exp.name}”`}
          initial={exp.name}
          onClose={() => setRenaming(false)}
          submit={async (name) => {
            await experimentActions.rename(experimentId, name);
            setRenaming(false);
            experiment.reload();
          }}
        />
      )}
    </div>
  );
}
