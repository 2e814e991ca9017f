namespace ResNet.MLNet.Training;

/// <summary>The training loop's events, as fastai names them; each is one <see cref="LearnerCallback"/> method of the same name.</summary>
internal enum LearnerEvent
{
    BeforeFit,
    BeforeEpoch,
    BeforeTrain,
    BeforeBatch,
    AfterPred,
    AfterLoss,
    BeforeBackward,
    AfterBackward,
    BeforeStep,
    AfterStep,
    AfterCancelBatch,
    AfterBatch,
    AfterTrain,
    BeforeValidate,
    AfterValidate,
    AfterCancelEpoch,
    AfterEpoch,
    AfterCancelFit,
    AfterFit,
}
