namespace ResNet.MLNet.Training;

/// <summary>
/// A hook into the training loop, as fastai's <c>Callback</c>: override the events you need. Events run in
/// <see cref="Order"/> (then in the order the callbacks were added), with the loop's <see cref="LearnerState"/>; a callback
/// may change the batch, the prediction, the loss, the learning rate or momentum, or skip work with
/// <see cref="LearnerState.CancelBatch"/>, <see cref="LearnerState.CancelEpoch"/> and <see cref="LearnerState.CancelFit"/>.
/// Add yours through <c>ResNetTrainer.Options.Callbacks</c>.
/// </summary>
/// <remarks>
/// Per fit: <c>BeforeFit</c>, then per epoch <c>BeforeEpoch</c>, the training pass (<c>BeforeTrain</c>, per batch
/// <c>BeforeBatch</c>, <c>AfterPred</c>, <c>AfterLoss</c>, <c>BeforeBackward</c>, <c>AfterBackward</c>, <c>BeforeStep</c>,
/// <c>AfterStep</c>, <c>AfterBatch</c>; then <c>AfterTrain</c>), the validation pass (<c>BeforeValidate</c>, per batch
/// <c>BeforeBatch</c>, <c>AfterPred</c>, <c>AfterLoss</c>, <c>AfterBatch</c>; then <c>AfterValidate</c>), <c>AfterEpoch</c>;
/// finally <c>AfterFit</c>. A cancelled batch, epoch or fit calls <c>AfterCancelBatch</c>/<c>AfterCancelEpoch</c>/
/// <c>AfterCancelFit</c>, then still its <c>After…</c> event. The batch events (<c>BeforeBatch</c> to <c>AfterBatch</c>) run
/// only in the passes the callback declares (<see cref="RunsInTraining"/>, <see cref="RunsInValidation"/>); the others
/// always run. An exception a callback throws reaches the caller as an <see cref="InvalidOperationException"/> naming the
/// callback and the event, the original as its inner exception.
/// </remarks>
public abstract class LearnerCallback
{
    /// <summary>Lower runs first (fastai's <c>order</c>); the parameter scheduler runs at -10, the recorder at 50. Default 0.</summary>
    public virtual int Order => 0;

    /// <summary>Whether the batch events run on training batches (fastai's <c>run_train</c>). Default true.</summary>
    public virtual bool RunsInTraining => true;

    /// <summary>Whether the batch events run on validation batches (fastai's <c>run_valid</c>). Default true.</summary>
    public virtual bool RunsInValidation => true;

    /// <summary>Before the first epoch.</summary>
    public virtual void BeforeFit(LearnerState state) { }

    /// <summary>At the start of every epoch.</summary>
    public virtual void BeforeEpoch(LearnerState state) { }

    /// <summary>Before the training pass of an epoch.</summary>
    public virtual void BeforeTrain(LearnerState state) { }

    /// <summary>Before each batch's forward pass (<see cref="LearnerState.Input"/> and <see cref="LearnerState.Target"/> are set).</summary>
    public virtual void BeforeBatch(LearnerState state) { }

    /// <summary>After the forward pass (<see cref="LearnerState.Prediction"/> holds the logits).</summary>
    public virtual void AfterPred(LearnerState state) { }

    /// <summary>After the loss is computed (<see cref="LearnerState.Loss"/>; replace it to change what is minimised).</summary>
    public virtual void AfterLoss(LearnerState state) { }

    /// <summary>Before the backward pass (training only).</summary>
    public virtual void BeforeBackward(LearnerState state) { }

    /// <summary>After the backward pass: the gradients are on the parameters (training only).</summary>
    public virtual void AfterBackward(LearnerState state) { }

    /// <summary>Before the optimiser step (training only); <see cref="LearnerState.CancelBatch"/> here keeps the gradients.</summary>
    public virtual void BeforeStep(LearnerState state) { }

    /// <summary>After the optimiser step (training only).</summary>
    public virtual void AfterStep(LearnerState state) { }

    /// <summary>After every batch, training or validation.</summary>
    public virtual void AfterBatch(LearnerState state) { }

    /// <summary>After the training pass of an epoch.</summary>
    public virtual void AfterTrain(LearnerState state) { }

    /// <summary>Before the validation pass of an epoch (only with validation data).</summary>
    public virtual void BeforeValidate(LearnerState state) { }

    /// <summary>After the validation pass of an epoch.</summary>
    public virtual void AfterValidate(LearnerState state) { }

    /// <summary>At the end of every epoch (<see cref="LearnerState.History"/> holds its metrics once the recorder ran).</summary>
    public virtual void AfterEpoch(LearnerState state) { }

    /// <summary>After the last epoch, or after a cancelled fit.</summary>
    public virtual void AfterFit(LearnerState state) { }

    /// <summary>After a batch was cancelled.</summary>
    public virtual void AfterCancelBatch(LearnerState state) { }

    /// <summary>After an epoch was cancelled.</summary>
    public virtual void AfterCancelEpoch(LearnerState state) { }

    /// <summary>After the fit was cancelled.</summary>
    public virtual void AfterCancelFit(LearnerState state) { }

    /// <summary>Calls the method of event <paramref name="e"/>.</summary>
    internal void Handle(LearnerEvent e, LearnerState state)
    {
        Action<LearnerState> handler = e switch
        {
            LearnerEvent.BeforeFit => BeforeFit,
            LearnerEvent.BeforeEpoch => BeforeEpoch,
            LearnerEvent.BeforeTrain => BeforeTrain,
            LearnerEvent.BeforeBatch => BeforeBatch,
            LearnerEvent.AfterPred => AfterPred,
            LearnerEvent.AfterLoss => AfterLoss,
            LearnerEvent.BeforeBackward => BeforeBackward,
            LearnerEvent.AfterBackward => AfterBackward,
            LearnerEvent.BeforeStep => BeforeStep,
            LearnerEvent.AfterStep => AfterStep,
            LearnerEvent.AfterCancelBatch => AfterCancelBatch,
            LearnerEvent.AfterBatch => AfterBatch,
            LearnerEvent.AfterTrain => AfterTrain,
            LearnerEvent.BeforeValidate => BeforeValidate,
            LearnerEvent.AfterValidate => AfterValidate,
            LearnerEvent.AfterCancelEpoch => AfterCancelEpoch,
            LearnerEvent.AfterEpoch => AfterEpoch,
            LearnerEvent.AfterCancelFit => AfterCancelFit,
            LearnerEvent.AfterFit => AfterFit,
            _ => throw new ArgumentOutOfRangeException(nameof(e), e, null),
        };
        handler(state);
    }
}
