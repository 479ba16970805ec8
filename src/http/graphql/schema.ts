/**
 * The GraphQL schema MLflow's server exposes at `/graphql` (its graphene schema is generated from
 * the protos, so every type mirrors a proto message): same type, field, input and enum names, so
 * the MLflow web UI's queries (`GetRun`, `SearchRuns`, `GetMetricHistoryBulkInterval`,
 * `MlflowGetExperimentQuery`) and scripts written against MLflow run unchanged.
 *
 * Field names are the protos' snake_case names in camelCase. int64 fields are `LongString`
 * (sent as strings so JavaScript does not round them). `apiError` is part of every response type
 * for compatibility; failures are reported in the response's `errors` list, as upstream does.
 */
export const GRAPHQL_SCHEMA = /* GraphQL */ `
  "Identifies the UI component that sent a query (kept for compatibility; ignored)."
  directive @component(name: String!) on QUERY | MUTATION

  "Long converted to string to prevent truncation to max integer in JavaScript"
  scalar LongString

  enum MlflowDeploymentJobConnectionState {
    DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED
    NOT_SET_UP
    CONNECTED
    NOT_FOUND
    REQUIRED_PARAMETERS_CHANGED
  }

  enum MlflowModelVersionDeploymentJobStateDeploymentJobRunState {
    DEPLOYMENT_JOB_RUN_STATE_UNSPECIFIED
    NO_VALID_DEPLOYMENT_JOB_FOUND
    RUNNING
    SUCCEEDED
    FAILED
    PENDING
    APPROVAL
  }

  enum MlflowModelVersionStatus {
    PENDING_REGISTRATION
    FAILED_REGISTRATION
    READY
  }

  enum MlflowRunStatus {
    RUNNING
    SCHEDULED
    FINISHED
    FAILED
    KILLED
  }

  enum MlflowViewType {
    ACTIVE_ONLY
    DELETED_ONLY
    ALL
  }

  type ErrorDetail {
    field: String
    message: String
  }

  type ApiError {
    code: String
    message: String
    helpUrl: String
    traceId: String
    errorDetails: [ErrorDetail]
  }

  type MlflowModelVersionDeploymentJobState {
    jobId: String
    runId: String
    jobState: MlflowDeploymentJobConnectionState
    runState: MlflowModelVersionDeploymentJobStateDeploymentJobRunState
    currentTaskName: String
  }

  type MlflowModelMetric {
    key: String
    value: Float
    timestamp: LongString
    step: LongString
    datasetName: String
    datasetDigest: String
    modelId: String
    runId: String
  }

  type MlflowModelParam {
    name: String
    value: String
  }

  type MlflowModelVersionTag {
    key: String
    value: String
  }

  type MlflowModelVersion {
    name: String
    version: String
    creationTimestamp: LongString
    lastUpdatedTimestamp: LongString
    userId: String
    currentStage: String
    description: String
    source: String
    runId: String
    status: MlflowModelVersionStatus
    statusMessage: String
    tags: [MlflowModelVersionTag!]
    runLink: String
    aliases: [String]
    modelId: String
    modelParams: [MlflowModelParam!]
    modelMetrics: [MlflowModelMetric!]
    deploymentJobState: MlflowModelVersionDeploymentJobState
  }

  type MlflowSearchModelVersionsResponse {
    modelVersions: [MlflowModelVersion!]
    nextPageToken: String
    apiError: ApiError
  }

  type MlflowDatasetSummary {
    experimentId: String
    name: String
    digest: String
    context: String
  }

  type MlflowSearchDatasetsResponse {
    datasetSummaries: [MlflowDatasetSummary!]
    apiError: ApiError
  }

  type MlflowMetricWithRunId {
    key: String
    value: Float
    timestamp: LongString
    step: LongString
    runId: String
  }

  type MlflowGetMetricHistoryBulkIntervalResponse {
    metrics: [MlflowMetricWithRunId!]
    apiError: ApiError
  }

  type MlflowFileInfo {
    path: String
    isDir: Boolean
    fileSize: LongString
  }

  type MlflowListArtifactsResponse {
    rootUri: String
    files: [MlflowFileInfo!]
    nextPageToken: String
    apiError: ApiError
  }

  type MlflowModelOutput {
    modelId: String
    step: LongString
  }

  type MlflowRunOutputs {
    modelOutputs: [MlflowModelOutput!]
  }

  type MlflowModelInput {
    modelId: String
  }

  type MlflowDataset {
    name: String
    digest: String
    sourceType: String
    source: String
    schema: String
    profile: String
  }

  type MlflowInputTag {
    key: String
    value: String
  }

  type MlflowDatasetInput {
    tags: [MlflowInputTag!]
    dataset: MlflowDataset
  }

  type MlflowRunInputs {
    datasetInputs: [MlflowDatasetInput!]
    modelInputs: [MlflowModelInput!]
  }

  type MlflowRunTag {
    key: String
    value: String
  }

  type MlflowParam {
    key: String
    value: String
  }

  type MlflowMetricExtension {
    key: String
    "null when the value is NaN or infinite (GraphQL's Float cannot carry them)"
    value: Float
    timestamp: LongString
    step: LongString
    datasetName: String
    datasetDigest: String
    modelId: String
    runId: String
  }

  type MlflowRunData {
    metrics: [MlflowMetricExtension!]
    params: [MlflowParam!]
    tags: [MlflowRunTag!]
  }

  type MlflowRunInfo {
    runId: String
    runUuid: String
    runName: String
    experimentId: String
    userId: String
    status: MlflowRunStatus
    startTime: LongString
    endTime: LongString
    artifactUri: String
    lifecycleStage: String
  }

  type MlflowExperimentTag {
    key: String
    value: String
  }

  type MlflowExperiment {
    experimentId: String
    name: String
    artifactLocation: String
    lifecycleStage: String
    lastUpdateTime: LongString
    creationTime: LongString
    tags: [MlflowExperimentTag!]
    "Trace archival is not offered here: always empty (the MLflow 3.18 UI asks for it)."
    effectiveTraceArchivalRetention: String
    "MLflow's workspace field; empty, as REST's experiment leaves it unset."
    workspace: String
  }

  type MlflowRunExtension {
    info: MlflowRunInfo
    data: MlflowRunData
    inputs: MlflowRunInputs
    outputs: MlflowRunOutputs
    "The run's experiment."
    experiment: MlflowExperiment
    "Registered model versions created from this run."
    modelVersions: [MlflowModelVersion!]
  }

  type MlflowSearchRunsResponse {
    runs: [MlflowRunExtension!]
    nextPageToken: String
    apiError: ApiError
  }

  type MlflowGetRunResponse {
    run: MlflowRunExtension
    apiError: ApiError
  }

  type MlflowGetExperimentResponse {
    experiment: MlflowExperiment
    apiError: ApiError
  }

  input MlflowSearchModelVersionsInput {
    filter: String
    maxResults: LongString
    orderBy: [String]
    pageToken: String
  }

  input MlflowSearchDatasetsInput {
    experimentIds: [String]
  }

  input MlflowGetMetricHistoryBulkIntervalInput {
    runIds: [String]
    metricKey: String
    startStep: Int
    endStep: Int
    maxResults: Int
  }

  input MlflowListArtifactsInput {
    runId: String
    runUuid: String
    path: String
    pageToken: String
  }

  input MlflowSearchRunsInput {
    experimentIds: [String]
    filter: String
    runViewType: MlflowViewType
    maxResults: Int
    orderBy: [String]
    pageToken: String
  }

  input MlflowGetRunInput {
    runId: String
    runUuid: String
  }

  input MlflowGetExperimentInput {
    experimentId: String
  }

  type Test {
    "Echoes the input string"
    output: String
  }

  type TestMutation {
    "Echoes the input string"
    output: String
  }

  type Query {
    mlflowGetExperiment(input: MlflowGetExperimentInput): MlflowGetExperimentResponse
    mlflowGetMetricHistoryBulkInterval(input: MlflowGetMetricHistoryBulkIntervalInput): MlflowGetMetricHistoryBulkIntervalResponse
    mlflowGetRun(input: MlflowGetRunInput): MlflowGetRunResponse
    mlflowListArtifacts(input: MlflowListArtifactsInput): MlflowListArtifactsResponse
    mlflowSearchModelVersions(input: MlflowSearchModelVersionsInput): MlflowSearchModelVersionsResponse
    mlflowSearchRuns(input: MlflowSearchRunsInput): MlflowSearchRunsResponse
    "Simple echoing field"
    test(inputString: String): Test
  }

  type Mutation {
    mlflowSearchDatasets(input: MlflowSearchDatasetsInput): MlflowSearchDatasetsResponse
    mlflowSearchRuns(input: MlflowSearchRunsInput): MlflowSearchRunsResponse
    "Simple echoing field"
    testMutation(inputString: String): TestMutation
  }
`;
